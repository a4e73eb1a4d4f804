// The seed's store for its targets, over Nix's own ssh-ng protocol: OpenSSH's
// sshd, run by the fleet with a configuration and keys of its own (in the
// fleet's state folder; the system's sshd_config and host keys are never
// read), on the seed's address alone. Its one accepted key, given to
// registered targets with their go, may only run `nix-daemon --stdio` as an
// unprivileged user, which reaches the seed's nix-daemon as an untrusted
// client: it reads the store, and cannot add paths without a trusted signature.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { passwdIds } from '../common/accounts.js';
import { evalUser } from '../nix/eval-user.js';
import { runChild } from '../process/run-child.js';
import { FleetError } from './fleet-error.js';
import { STORE_UNIT, type FleetUnitMode, type UnitProperty } from './fleet-units.js';
import { findProgram, startServer, type ServerProcess } from './server-process.js';

// sshd -D -e says this once it listens.
const READY = /Server listening on /;

export interface RunningSshd extends ServerProcess {
  port: number;
  // The key a target logs in with (OpenSSH's private key file, text) and the seed's host key (public).
  targetKey: string;
  hostKey: string;
}

// Where sshd keeps its files, where it listens, who the store is read as, and how it runs (fleet-units.ts).
export interface SshdPlan {
  dir: string;
  address: string;
  port: number;
  user: { uid: number; gid: number };
  mode: FleetUnitMode;
  properties: UnitProperty[];
  signal: AbortSignal;
  log: (line: string) => void;
}

function required(name: string, what: string): string {
  return findProgram(name, 'interface', `The seed serves its store to the targets with ${what}; install it (Debian: openssh-server, util-linux, nix-bin; the ISO carries them).`);
}

async function keygen(file: string, comment: string, signal: AbortSignal): Promise<void> {
  const result = await runChild({ file: required('ssh-keygen', "OpenSSH's ssh-keygen"), args: ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], signal, onLine: () => undefined });
  if (result.exitCode !== 0) throw new Error(`ssh-keygen for ${file} exited with ${result.exitCode ?? result.signal}`);
}

// Who nix-daemon --stdio runs as: the daemon's eval user (already unprivileged, a nix-daemon client), else nobody.
export async function storeUser(): Promise<{ uid: number; gid: number }> {
  const user = evalUser();
  if (user) return user;
  const nobody = passwdIds('nobody');
  if (!nobody) throw new FleetError('interface', 'There is no user nobody', "The seed's store is served to targets as an unprivileged user: the daemon's --eval-user, else nobody; this machine has neither.");
  return nobody;
}

// What the key may run: nix-daemon in --stdio mode as USER, which forwards to the seed's nix-daemon (untrusted).
// HOME is not root's: sshd gives root's, and Nix stats ~/.nix-defexpr as USER, which fails in a 0700 /root
// (Nix 2.8 then ends: "getting status of /root/.nix-defexpr/channels: Permission denied").
export const STORE_USER_HOME = '/var/empty';

export function forcedCommand(user: { uid: number; gid: number }, env: Record<string, string | undefined>): string {
  const daemonEnv = [`HOME=${STORE_USER_HOME}`, 'NIX_REMOTE=daemon', ...(env.NIX_DAEMON_SOCKET_PATH ? [`NIX_DAEMON_SOCKET_PATH=${env.NIX_DAEMON_SOCKET_PATH}`] : [])];
  return [required('setpriv', "util-linux's setpriv"), `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', required('env', 'env'), ...daemonEnv, required('nix-daemon', "Nix's nix-daemon"), '--stdio'].join(' ');
}

export function sshdConfig(dir: string, address: string, port: number): string {
  return [
    `Port ${port}`,
    `ListenAddress ${address}`,
    `HostKey ${join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    // Only the fleet's key, only for its forced command; nothing else a login could do.
    'AllowUsers root',
    'PermitRootLogin forced-commands-only',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'AllowStreamLocalForwarding no',
    'X11Forwarding no',
    'PermitTTY no',
    'PermitUserEnvironment no',
    'PermitTunnel no',
    // The files are root's, made fresh in the fleet's root-only folder; StrictModes would also judge the folders above it.
    'StrictModes no',
    '',
  ].join('\n');
}

export async function startSshd(plan: SshdPlan): Promise<RunningSshd> {
  const { dir, address, port, signal } = plan;
  const sshd = required('sshd', "OpenSSH's sshd");
  await mkdir(dir, { mode: 0o700 });
  await keygen(join(dir, 'host_key'), 'nixos-offline-installer fleet seed', signal);
  await keygen(join(dir, 'target_key'), 'nixos-offline-installer fleet target', signal);
  const targetPublic = (await readFile(join(dir, 'target_key.pub'), 'utf8')).trim();
  await writeFile(join(dir, 'authorized_keys'), `restrict,command="${forcedCommand(plan.user, process.env)}" ${targetPublic}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'sshd_config'), sshdConfig(dir, address, port), { mode: 0o600 });
  // Debian's sshd wants its privilege separation folder, which its own unit makes (here, before ProtectSystem= makes /run read-only to it).
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  // As the daemon's child it starts as root under the unit's capability bounding set (server-process.ts).
  const running = await startServer({
    what: "The seed's store server (sshd)",
    field: 'port',
    hint: `Another program on ${address}:${port} stops it; give the fleet another --port (sshd takes the one after it).`,
    command: [sshd, '-D', '-e', '-f', join(dir, 'sshd_config')],
    ready: READY,
    mode: plan.mode,
    unit: STORE_UNIT,
    properties: plan.properties,
    signal,
    log: plan.log,
  });
  return { ...running, port, targetKey: await readFile(join(dir, 'target_key'), 'utf8'), hostKey: (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim() };
}
