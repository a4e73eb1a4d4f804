// The fleet's HTTP port: systemd-socket-activate listens on the seed's address
// and hands the socket to systemd-socket-proxyd, which forwards each connection
// to the daemon's HTTP server on a Unix socket in the fleet's folder. Both are
// systemd's own tools; the daemon itself never opens an IP socket.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FleetError } from './fleet-error.js';
import { HTTP_UNIT, type FleetUnitMode, type UnitProperty } from './fleet-units.js';
import { startServer, type ServerProcess } from './server-process.js';

// A LAN of 50 targets needs few connections at once (the daemon's server bounds them too).
const MAX_CONNECTIONS = 128;
// Not on PATH on most systems: systemd keeps it with its other helpers (the NixOS module puts that folder on the daemon's PATH).
const PROXYD = 'systemd-socket-proxyd';

export function findProxyd(path = process.env.PATH ?? ''): string {
  const found = [...path.split(':'), '/usr/lib/systemd', '/lib/systemd'].filter(Boolean).map((dir) => join(dir, PROXYD)).find((file) => existsSync(file));
  if (!found) throw new FleetError('port', `${PROXYD} is not installed`, `The fleet's HTTP port is systemd's ${PROXYD}: install systemd, or put the folder holding it on the daemon's PATH.`);
  return found;
}

export interface HttpFrontPlan {
  address: string;
  port: number;
  socket: string;
  mode: FleetUnitMode;
  properties: UnitProperty[];
  user: { uid: number; gid: number };
  signal: AbortSignal;
  log: (line: string) => void;
}

export function startHttpFront(plan: HttpFrontPlan): Promise<ServerProcess> {
  return startServer({
    what: 'The HTTP port',
    field: 'port',
    hint: `Another program may use ${plan.address}:${plan.port}; give another with --port.`,
    command: ['systemd-socket-activate', `--listen=${plan.address}:${plan.port}`, '--', findProxyd(), `--connections-max=${MAX_CONNECTIONS}`, plan.socket],
    // It says so once the socket listens; it starts the proxy at the first connection.
    ready: /^Listening on /,
    mode: plan.mode,
    unit: HTTP_UNIT,
    properties: plan.properties,
    user: plan.user,
    signal: plan.signal,
    log: plan.log,
  });
}
