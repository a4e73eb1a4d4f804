// Runs the real daemon (the built CLI) in a network namespace with no
// interfaces, so any network access by it or its children fails loudly.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, EVAL_USER, NIXOS_EXPR, REPO, testEnv, unmountBelow } from './env.js';
import { emptyStoreCommand, netnsCommand } from './netns.js';

export interface RunningDaemon {
  socket: string;
  logDir: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
  netns(): Promise<string>;
}

export interface DaemonSetup {
  dir: string;
  // Default: <dir>/ipc.sock.
  socket?: string;
  configDirs: string[];
  extraArgs?: string[];
  env?: Record<string, string>;
  offline?: boolean;
  // Another stand-in NixOS expression (e.g. a copy with its own microcode release).
  nixosExpr?: string;
  // false: no --eval-user, root evaluates (a developer's daemon started by hand).
  evalUser?: boolean;
  // Another build of the CLI (e.g. a clone's dist/cli/main.js).
  cli?: string;
  // A squashfs from helpers/iso-store.ts: the daemon (and its eval user's nix-daemon) run with /nix laid out
  // as on the ISO, in a mount namespace of their own (scripts/iso-store.sh).
  isoStore?: string;
  // A network namespace made by the test (ip netns add): the daemon runs in it, with the interfaces the test gave it.
  netns?: string;
  // A private mount namespace whose /nix is an empty tmpfs: a netbooted fleet target's empty store.
  emptyStore?: boolean;
}

export const FLEET_USER = 'dnsmasq';

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function startDaemon(setup: DaemonSetup): Promise<RunningDaemon> {
  const socket = setup.socket ?? join(setup.dir, 'ipc.sock');
  const logDir = join(setup.dir, 'logs');
  await mkdir(logDir, { recursive: true });
  const defaults: Record<string, string> = {
    '--socket': socket,
    '--config-dirs': setup.configDirs.join(':'),
    '--nixos-expr': setup.nixosExpr ?? NIXOS_EXPR,
    '--log-dir': logDir,
    '--channel-profile': join(setup.dir, 'no-channel'),
    // scripts/run-suite.sh makes the eval user and starts a nix-daemon for it: every daemon evaluates as that user.
    ...(EVAL_USER && setup.evalUser !== false && { '--eval-user': EVAL_USER, '--eval-home': join(setup.dir, 'eval-home') }),
  };
  const extra = setup.extraArgs ?? [];
  // An option in extraArgs replaces its default (the CLI refuses an option given twice).
  const args = [setup.cli ?? CLI, 'daemon', ...Object.entries(defaults).flatMap(([flag, value]) => (extra.includes(flag) ? [] : [flag, value])), ...extra];
  const offline = setup.offline ?? true;
  const own = setup.emptyStore ? emptyStoreCommand([process.execPath, ...args]) : [process.execPath, ...args];
  const command = setup.netns ? netnsCommand(setup.netns, own) : offline ? ['unshare', '--net', '--', ...own] : own;
  const wrapped = setup.isoStore ? ['bash', join(REPO, 'scripts/iso-store.sh'), setup.isoStore, '--', ...command] : command;
  // A fleet's folder in the test's own (never /run), its servers dropping to dnsmasq's own user (Debian's dnsmasq-base makes it).
  const fleet = { NOI_FLEET_DIR: join(setup.dir, 'fleet'), NOI_FLEET_USER: FLEET_USER };
  const child = spawn(wrapped[0]!, wrapped.slice(1), { env: testEnv({ ...fleet, ...setup.env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${output}`);
      return output.includes('"daemon ready"') && (await access(socket).then(() => true, () => false));
    },
    15_000,
    'the daemon socket',
  );
  return {
    socket,
    logDir,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    netns: () => readlink(`/proc/${child.pid}/ns/net`),
  };
}

// After each end-to-end test: its daemon stopped (if it started one), its mounts undone, its scratch folder gone.
// The daemon's log entries (pino JSON lines) whose line includes TEXT.
export function logEntries(daemon: RunningDaemon, text: string): Record<string, unknown>[] {
  return daemon
    .output()
    .split('\n')
    .filter((line) => line.includes(text))
    .map((line) => JSON.parse(line));
}

export async function cleanUp(dir: string, daemon: RunningDaemon | null): Promise<void> {
  await daemon?.stop();
  unmountBelow(dir);
  await rm(dir, { recursive: true, force: true });
}
