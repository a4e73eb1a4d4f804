// Issue 20, finding 6: the daemon (root) evaluates configurations as an
// unprivileged eval user through nix-daemon (--eval-user), so a configuration
// cannot read root-only files even inside the paths restrict-eval allows.
// Real daemon, real Nix, the nix-daemon and eval user scripts/run-suite.sh
// sets up; the evaluating processes are watched in /proc while they run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultOf, runCli, type CliRun } from '../helpers/cli.js';
import { configurationNix, writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { bindMount, EVAL_USER, NIXOS_EXPR, scratch } from '../helpers/env.js';

const SECRET = 'evalusersecret-5c1d';

let dir: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => {
  // Without run-suite.sh's eval user and nix-daemon there is nothing to test: fail, never pass vacuously.
  expect(EVAL_USER, 'run the tests through scripts/run-suite.sh (or test.sh): it makes the eval user and starts nix-daemon').not.toBeNull();
  expect(process.env.NIX_DAEMON_SOCKET_PATH).toBeTruthy();
  dir = await scratch('evaluser');
});
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

function ids(user: string): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })) };
}

function replyOf(run: CliRun): any {
  return run.events.find((e) => e.type === 'reply')?.data;
}

async function mountedRoot(): Promise<string> {
  const root = join(dir, 'root');
  await mkdir(root, { mode: 0o755 });
  bindMount(root);
  return root;
}

// A copy of the stand-in NixOS expression holding a file only root may read:
// a folder restrict-eval allows (the daemon's --nixos-expr), so only the
// evaluating user's own rights can keep the file out.
async function exprWithSecret(): Promise<{ expr: string; secret: string }> {
  const expr = join(dir, 'nixos');
  await cp(NIXOS_EXPR, expr, { recursive: true });
  const secret = join(expr, 'root-only-secret');
  await writeFile(secret, SECRET, { mode: 0o600 });
  return { expr, secret };
}

function readsSecret(secret: string): string {
  return configurationNix({ hostName: 'x' }).replace('networking.hostName = "x";', `networking.hostName = builtins.readFile ${secret};`);
}

// Store paths made since MARKER (a store path's ctime is when it was registered) whose files hold TEXT.
function newStorePathsWith(marker: string, text: string): string[] {
  const fresh = execFileSync('find', ['/nix/store', '-mindepth', '1', '-maxdepth', '1', '-cnewer', marker], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (fresh.length === 0) return [];
  try {
    return execFileSync('grep', ['-rlF', text, ...fresh], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

interface SeenProcess {
  pid: number;
  ppid: number;
  uid: string;
  gid: string;
  groups: string;
  cmdline: string[];
}

// Polls /proc until STOP for processes named NAME, recording each one's ids and arguments.
function watchProcesses(name: string): { seen: SeenProcess[]; stop: () => void } {
  const seen: SeenProcess[] = [];
  const timer = setInterval(() => {
    for (const entry of readdirSyncSafe('/proc')) {
      if (!/^\d+$/.test(entry) || seen.some((s) => s.pid === Number(entry))) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        if (!new RegExp(`^Name:\\s+${name}$`, 'm').test(status)) continue;
        const field = (key: string) => new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        seen.push({ pid: Number(entry), ppid: Number(field('PPid')), uid: field('Uid'), gid: field('Gid'), groups: field('Groups'), cmdline });
      } catch {
        // It ended meanwhile.
      }
    }
  }, 15);
  return { seen, stop: () => clearInterval(timer) };
}

function readdirSyncSafe(path: string): string[] {
  try {
    return execFileSync('ls', ['-1', path], { encoding: 'utf8' }).split('\n');
  } catch {
    return [];
  }
}

describe('configurations are evaluated as the eval user, not root', () => {
  it('a root-only file in a folder restrict-eval allows is refused with a permission error; its content is in no reply, log or store path', async () => {
    const { expr, secret } = await exprWithSecret();
    const source = await writeConfig(join(dir, 'cfg'), { raw: readsSecret(secret) });
    const root = await mountedRoot();
    const marker = join(dir, 'marker');
    await writeFile(marker, '');
    daemon = await startDaemon({ dir, configDirs: [source], nixosExpr: expr });
    const validate = await runCli(['validate', '--socket', daemon.socket, '--json']);
    const check = replyOf(validate).validation.checks.find((c: any) => c.name === 'evaluates');
    expect(check.ok).toBe(false);
    expect(check.error.description).toContain(secret);
    expect(check.error.description).toMatch(/Permission denied/);
    // Never taken for the failure: what nix-daemon says to a client that is not trusted.
    expect(check.error.description).not.toMatch(/not a trusted user|client-specified setting/);
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
    expect(run.code).toBe(1);
    expect(resultOf(run).error.description).toMatch(/Permission denied/);
    const status = await runCli(['status', '--socket', daemon.socket, '--json']);
    const logs = await Promise.all((await readdir(daemon.logDir)).map((f) => readFile(join(daemon!.logDir, f), 'utf8')));
    for (const text of [validate.stdout, run.stdout, status.stdout, daemon.output(), ...logs]) expect(text).not.toContain(SECRET);
    expect(newStorePathsWith(marker, SECRET)).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  });

  it('without --eval-user, root evaluates: restrict-eval alone lets the same configuration read that file, and the daemon warns once', async () => {
    const { expr, secret } = await exprWithSecret();
    const source = await writeConfig(join(dir, 'cfg'), { raw: readsSecret(secret) });
    daemon = await startDaemon({ dir, configDirs: [source], nixosExpr: expr, evalUser: false });
    const validate = await runCli(['validate', '--socket', daemon.socket, '--json']);
    expect(replyOf(validate).validation.checks.find((c: any) => c.name === 'evaluates').ok).toBe(true);
    expect(daemon.output().match(/no eval user \(--eval-user\)/g)).toHaveLength(1);
  });

  it('evaluates as the eval uid with no other groups, through nix-daemon, from a prepared copy its group may read and nobody else may enter', async () => {
    const user = ids(EVAL_USER!);
    // Slow enough to be seen in /proc; a file only its owner may read, and one every user may.
    const slow = `builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 4000000)`;
    const source = await writeConfig(join(dir, 'cfg'), {
      raw: configurationNix({ hostName: 'x' }).replace('networking.hostName = "x";', `networking.hostName = if ${slow} > 0 then import ./name.nix else "never";`),
    });
    await writeFile(join(source, 'name.nix'), '"evaluser"\n', { mode: 0o600 });
    await writeFile(join(source, 'open.nix'), '{ }\n', { mode: 0o644 });
    const root = await mountedRoot();
    daemon = await startDaemon({ dir, configDirs: [source] });
    expect(daemon.output()).toContain(`configurations are evaluated as ${EVAL_USER} (uid ${user.uid}) through nix-daemon`);
    const watch = watchProcesses('nix-instantiate');
    // The prepared copy, seen while an evaluation of it runs.
    let prepared: { dir: string; mode: number; uid: number; gid: number; secret: number; open: number } | null = null;
    const peek = setInterval(() => {
      const config = watch.seen.filter((p) => p.ppid === daemon!.process.pid).flatMap((p) => p.cmdline).find((a) => /^nixos-config=.*nixos-offline-installer-.*\/configuration\.nix$/.test(a));
      if (!config || prepared) return;
      const folder = dirname(dirname(config.slice('nixos-config='.length)));
      Promise.all([stat(folder), stat(join(folder, 'nixos/name.nix')), stat(join(folder, 'nixos/open.nix'))]).then(
        ([f, s, o]) => (prepared ??= { dir: folder, mode: f.mode & 0o7777, uid: f.uid, gid: f.gid, secret: s.mode & 0o7777, open: o.mode & 0o7777 }),
        () => undefined,
      );
    }, 15);
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']).finally(() => {
      watch.stop();
      clearInterval(peek);
    });
    expect(resultOf(run).ok, JSON.stringify(resultOf(run).error)).toBe(true);
    // This daemon's children only: other test runs on this machine evaluate too.
    const evaluations = watch.seen.filter((p) => p.ppid === daemon!.process.pid);
    // The configuration's facts and the build's instantiation, at least.
    expect(evaluations.length).toBeGreaterThanOrEqual(2);
    for (const p of evaluations) {
      expect(p.uid.split(/\s+/)).toEqual(Array(4).fill(String(user.uid)));
      expect(p.gid.split(/\s+/)).toEqual(Array(4).fill(String(user.gid)));
      expect(p.groups).toBe('');
    }
    expect(prepared).toMatchObject({ mode: 0o750, uid: 0, gid: user.gid, secret: 0o640, open: 0o644 });
    // nix-daemon served the eval user (it says whom it accepted), and wrote the system's .drv as root.
    const nixDaemonLog = await readFile(join(dirname(process.env.NIX_DAEMON_SOCKET_PATH!), 'log'), 'utf8');
    expect(nixDaemonLog).toMatch(new RegExp(`accepted connection from pid \\d+, user (${EVAL_USER}|${user.uid})\\b`));
    const drvPath = (await readFile(join(daemon.logDir, (await readdir(daemon.logDir))[0]!), 'utf8')).match(/evaluated to (\/nix\/store\/\S+\.drv)/)?.[1];
    expect(drvPath).toBeDefined();
    expect((await stat(drvPath!)).uid).toBe(0);
    // The staged copy is root's again: the owner-only file is 0600, as its source was not world-readable.
    expect((await stat(join(root, 'etc/nixos/name.nix'))).mode & 0o7777).toBe(0o600);
    expect((await stat(join(root, 'etc/nixos'))).gid).toBe(0);
  });

  it("checks a folder whose files only their owner may read: the live check, too, evaluates a private copy the eval user may read", async () => {
    const source = await writeConfig(join(dir, 'cfg'), { raw: configurationNix({ hostName: 'x' }).replace('networking.hostName = "x";', 'networking.hostName = import ./name.nix;') });
    await writeFile(join(source, 'name.nix'), '"private"\n', { mode: 0o600 });
    // The live user's folder, as on the ISO (its group is the socket group); the eval user may not read name.nix there.
    execFileSync('chown', ['-R', '23456:23457', source]);
    daemon = await startDaemon({ dir, configDirs: [source], extraArgs: ['--socket-group', '23457'] });
    const validation = replyOf(await runCli(['validate', '--socket', daemon.socket, '--json'])).validation;
    expect(validation.checks.find((c: any) => c.name === 'evaluates')).toEqual({ name: 'evaluates', ok: true });
  });
});
