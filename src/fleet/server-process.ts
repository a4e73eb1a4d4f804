// Runs one of the fleet's network servers (dnsmasq, the HTTP front) in the
// foreground, in its own process group, ended with the fleet: as the daemon's
// child, or in a transient unit of its own through systemd-run (fleet-units.ts),
// whose output reaches the daemon the same way (--pipe). Ready once it says so.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runChild, type ChildResult } from '../process/run-child.js';
import { FleetError } from './fleet-error.js';
import { systemdRun, type FleetUnitMode, type UnitProperty } from './fleet-units.js';

const START_TIMEOUT_MS = 15_000;
const KEPT_LINES = 20;

export interface ServerProcess {
  // Resolves when it has exited (after the fleet's signal ended it, or on its own).
  exited: Promise<ChildResult>;
}

export interface ServerSpec {
  what: string;
  // Which request field a failure to start is about, and what to do then.
  field: string;
  hint: string;
  command: string[];
  ready: RegExp;
  mode: FleetUnitMode;
  unit: string;
  properties: UnitProperty[];
  // Direct mode: run as this user (the unit's User= under systemd).
  user?: { uid: number; gid: number };
  signal: AbortSignal;
  log: (line: string) => void;
}

// NAME's absolute path, from PATH, then the folders Debian and NixOS keep programs in: systemd-run is given a
// path (a unit has its own PATH), sshd re-executes itself by it, a forced command must not depend on sshd's
// PATH, and a missing program is named before anything starts.
export function findProgram(name: string, field: string, hint: string, path = process.env.PATH ?? ''): string {
  const dirs = [...path.split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin', '/run/current-system/sw/bin'];
  const found = dirs.filter((dir) => dir.startsWith('/')).map((dir) => join(dir, name)).find((file) => existsSync(file));
  if (!found) throw new FleetError(field, `${name} is not installed`, hint);
  return found;
}

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const recent: string[] = [];
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const [file, ...args] = spec.mode === 'systemd' ? ['systemd-run', ...systemdRun(spec.unit, spec.properties, spec.command)] : directCommand(spec);
  const exited = runChild({
    file: file!,
    args,
    signal: spec.signal,
    ...(spec.mode === 'direct' && spec.user && { user: { ...spec.user, cwd: '/' } }),
    onLine: (line) => {
      recent.push(line);
      if (recent.length > KEPT_LINES) recent.shift();
      spec.log(line);
      if (spec.ready.test(line)) ready();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    started.then(() => 'ready' as const),
    exited.then((result) => result),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (outcome === 'ready') return { exited };
  const why = outcome === 'timeout' ? `it did not finish starting within ${START_TIMEOUT_MS / 1000} s` : outcome.spawnError ? `it could not be started (${outcome.spawnError}); is ${file} installed?` : `it exited with status ${outcome.exitCode ?? outcome.signal}`;
  throw new FleetError(spec.field, `${spec.what} did not start`, `${why}. What it said:\n${recent.join('\n') || '(nothing)'}\n${spec.hint}`);
}

// As the daemon's child, a server that starts as root gets the unit's capability bounding set too
// (util-linux's setpriv), so it runs with what its unit would give it, wherever it runs.
function directCommand(spec: ServerSpec): string[] {
  const bounding = spec.properties.find((p) => p.key === 'CapabilityBoundingSet')?.value;
  if (spec.user || bounding === undefined) return spec.command;
  const caps = bounding.split(' ').filter(Boolean).map((cap) => `+${cap.replace(/^CAP_/, '').toLowerCase()}`);
  return [findProgram('setpriv', spec.field, 'setpriv comes with util-linux: install it.'), '--bounding-set', ['-all', ...caps].join(','), '--', ...spec.command];
}

// Under systemd the unit is stopped too: systemd-run ending does not stop what it started.
export async function stopUnit(mode: FleetUnitMode, unit: string): Promise<void> {
  if (mode !== 'systemd') return;
  await runChild({ file: 'systemctl', args: ['stop', '--', `${unit}.service`], signal: new AbortController().signal, onLine: () => undefined });
}
