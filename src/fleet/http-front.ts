// The fleet's HTTP port: systemd-socket-activate listens on the seed's address
// and hands the socket to systemd-socket-proxyd, which forwards each connection
// to the daemon's HTTP server on a Unix socket in the fleet's folder. Both are
// systemd's own tools; the daemon itself never opens an IP socket.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FleetError } from './fleet-error.js';
import { HTTP_UNIT, type FleetUnitMode, type UnitProperty } from './fleet-units.js';
import { findProgram, startServer, type ServerProcess } from './server-process.js';

// A LAN of 50 targets needs few connections at once (the daemon's server bounds them too).
const MAX_CONNECTIONS = 128;
const PROXYD = 'systemd-socket-proxyd';
const INSTALL_SYSTEMD = "The fleet's HTTP port is served by systemd's systemd-socket-activate and systemd-socket-proxyd: install systemd (the NixOS module puts it on the daemon's PATH).";

// Not on PATH: systemd keeps it with its other helpers, in lib/systemd beside its bin (NixOS) or under /usr/lib, /lib.
export function findProxyd(path = process.env.PATH ?? ''): string {
  const dirs = path.split(':').filter((dir) => dir.startsWith('/')).map((dir) => join(dir, '..', 'lib', 'systemd'));
  const found = [...dirs, '/usr/lib/systemd', '/lib/systemd'].map((dir) => join(dir, PROXYD)).find((file) => existsSync(file));
  if (!found) throw new FleetError('port', `${PROXYD} is not installed`, INSTALL_SYSTEMD);
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
    command: [findProgram('systemd-socket-activate', 'port', INSTALL_SYSTEMD), `--listen=${plan.address}:${plan.port}`, '--', findProxyd(), `--connections-max=${MAX_CONNECTIONS}`, plan.socket],
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
