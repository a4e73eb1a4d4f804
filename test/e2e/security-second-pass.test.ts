// Issue 25's audit, finding by finding: each attack reproduced against the
// real daemon (in a network namespace, real Nix), by real local users made
// with useradd (a member of the socket group, and a stranger in no group of
// ours), with real setuid-root programs and real mounts.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logLinesOf, resultOf, runCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { scratchWithRoot } from '../helpers/env.js';
import { flakeNixEnv, lockFlake, standInNixpkgsTarball, writeFlakeConfig } from '../helpers/flake.js';

let dir: string;
let root: string;
let daemon: RunningDaemon | null = null;

// Real accounts (useradd): the socket group with a member, and a stranger in no group of ours.
const SOCKET_GROUP = 'noi-sec2-socket';
const MEMBER_NAME = 'noi-sec2-member';
const STRANGER_NAME = 'noi-sec2-stranger';
let socketGid: number;
let member: number;
let stranger: number;

function ensureAccounts(): void {
  try {
    execFileSync('getent', ['group', SOCKET_GROUP]);
  } catch {
    execFileSync('groupadd', ['--system', SOCKET_GROUP]);
  }
  for (const [name, groups] of [[MEMBER_NAME, [SOCKET_GROUP]], [STRANGER_NAME, []]] as const) {
    try {
      execFileSync('id', ['-u', name], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', ...(groups.length ? ['--groups', groups.join(',')] : []), name]);
    }
  }
  socketGid = Number(execFileSync('getent', ['group', SOCKET_GROUP], { encoding: 'utf8' }).split(':')[2]);
  member = Number(execFileSync('id', ['-u', MEMBER_NAME], { encoding: 'utf8' }));
  stranger = Number(execFileSync('id', ['-u', STRANGER_NAME], { encoding: 'utf8' }));
}

// A command run as a real account, with its own groups (setpriv --init-groups reads /etc/group).
function as(name: string, command: string[]): void {
  execFileSync('setpriv', [`--reuid=${name}`, `--regid=${name}`, '--init-groups', '--', ...command]);
}

function cli(args: string[], name: string = MEMBER_NAME) {
  return runCli(args, { as: { uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })), groups: execFileSync('id', ['-G', name], { encoding: 'utf8' }).trim().split(' ').map(Number) } });
}

async function daemonWith(configDirs: string[], extraArgs: string[] = []): Promise<RunningDaemon> {
  daemon = await startDaemon({ dir, configDirs, extraArgs: ['--socket-group', String(socketGid), ...extraArgs] });
  return daemon;
}

beforeAll(() => ensureAccounts());

beforeEach(async () => {
  ({ dir, root } = await scratchWithRoot('security2'));
});
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

describe('finding 3: a value the configuration computes never becomes an option on root\'s command line', () => {
  it('refuses a system whose drvPath is "--version" before running anything with it', async () => {
    const tarball = await standInNixpkgsTarball(dir);
    const source = await writeFlakeConfig(join(dir, 'nix-cfg'), tarball, { configurations: { evil: {} } });
    // The flake's system, its toplevel's drvPath replaced by an option.
    const flake = join(source, 'flake.nix');
    await writeFile(
      flake,
      (await readFile(flake, 'utf8')).replace(
        /evil = (nixpkgs\.lib\.nixosSystem \{[^\n]*\});/,
        'evil = let s = $1; b = s.config.system.build; in s // { config = s.config // { system = s.config.system // { build = b // { toplevel = b.toplevel // { drvPath = "--version"; }; }; }; }; };',
      ),
    );
    await lockFlake(source, flakeNixEnv(join(dir, 'test-cache')));
    await rm(tarball);
    daemon = await startDaemon({ dir, configDirs: [source], env: { XDG_CACHE_HOME: join(dir, 'daemon-cache') } });
    const run = await runCli(['validate', '--socket', daemon.socket, '--json']);
    const offline = run.events[0]!.data.validation.checks.find((c: any) => c.name === 'offline');
    expect(offline, run.stdout + run.stderr).toMatchObject({ ok: false, error: { code: 'not-a-store-path' } });
    expect(offline.error.description).toContain('"--version"');
    // No nix-store ran with it: nothing of nix-store's shows in the log.
    expect(logLinesOf(run.events).filter((l) => l.source.startsWith('nix-store'))).toEqual([]);
  }, 180_000);
});

describe('finding 4: a folder a stranger makes where the installer looks blocks nothing', () => {
  // A sticky, world-writable folder, as /tmp is; the ISO's folder after it.
  async function tmpAndIso(): Promise<{ tmp: string; cfg: string; iso: string }> {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    await chmod(tmp, 0o1777);
    return { tmp, cfg: join(tmp, 'nix-cfg'), iso: await writeConfig(join(dir, 'iso-cfg'), { hostName: 'from-iso' }) };
  }

  it.each([
    ['an empty folder', (cfg: string) => as(STRANGER_NAME, ['mkdir', cfg])],
    ['a folder with a configuration', (cfg: string) => (as(STRANGER_NAME, ['mkdir', cfg]), as(STRANGER_NAME, ['sh', '-c', `echo '{ ... }: { }' > ${cfg}/configuration.nix`]))],
    ['a link to a configuration', (cfg: string) => as(STRANGER_NAME, ['ln', '-s', join(dir, 'iso-cfg'), cfg])],
  ])("passes over %s of a stranger's, uses the ISO's, and says so in status, the check and the result", async (_what, make) => {
    const { cfg, iso } = await tmpAndIso();
    make(cfg);
    await daemonWith([cfg, iso]);
    const status = (await cli(['status', '--socket', daemon!.socket, '--json'])).events.find((e) => e.type === 'reply')!.data.status;
    expect(status.source.active).toBe(iso);
    expect(status.source.candidates[0]).toMatchObject({ dir: cfg, hasConfiguration: false });
    expect(status.source.candidates[0].passedOver).toContain(`belongs to uid ${stranger}, who is neither root nor in the installer's socket group`);
    const validate = await cli(['validate', '--socket', daemon!.socket, '--json']);
    const validation = validate.events[0]!.data.validation;
    expect(validation.source).toBe(iso);
    expect(validation.passedOver).toEqual([{ dir: cfg, reason: status.source.candidates[0].passedOver }]);
    // An install that stops early (the root is not mounted) still says it.
    const run = await cli(['install', '--socket', daemon!.socket, '--root', join(dir, 'unmounted'), '--json']);
    expect(resultOf(run).passedOver).toEqual(validation.passedOver);
    const text = await cli(['validate', '--socket', daemon!.socket]);
    expect(text.stdout).toContain(`passed over ${cfg}: it belongs to uid ${stranger}`);
  }, 120_000);

  it("still refuses a group member's non-empty folder that others may write, and does not fall back to the ISO's", async () => {
    const { cfg, iso } = await tmpAndIso();
    as(MEMBER_NAME, ['mkdir', '-m', '0777', cfg]);
    as(MEMBER_NAME, ['sh', '-c', `echo '{ ... }: { }' > ${cfg}/configuration.nix`]);
    await daemonWith([cfg, iso]);
    const validation = (await cli(['validate', '--socket', daemon!.socket, '--json'])).events[0]!.data.validation;
    expect(validation.source).toBeNull();
    expect(validation.checks[0].error).toMatchObject({ code: 'config-untrusted' });
    expect(validation.checks[0].error.title).toContain('is writable by every user (mode 0777)');
    expect(await readdir(root)).toEqual([]);
  }, 120_000);
});

describe('finding 5: evaluating a configuration never builds', () => {
  it('refuses import from derivation: the builder that reads a root-only file never runs, its output is in no reply and no store path', async () => {
    const secret = join(dir, 'secret.txt');
    const nonce = `ifd-${Date.now()}-${process.pid}`;
    await writeFile(secret, `secret-${nonce}\n`, { mode: 0o600 });
    // hostName read from a derivation's output: evaluation would have to build it first.
    const reader = `derivation { name = "${nonce}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "cat ${secret} > $out || echo unread > $out" ]; }`;
    const source = await writeConfig(join(dir, 'cfg'), { extra: `networking.hostName = builtins.readFile (${reader});`, hostName: 'x' });
    await writeFile(join(source, 'configuration.nix'), (await readFile(join(source, 'configuration.nix'), 'utf8')).replace('networking.hostName = "x";', ''));
    await daemonWith([source]);
    const run = await cli(['validate', '--socket', daemon!.socket, '--json']);
    const check = run.events[0]!.data.validation.checks.find((c: any) => c.name === 'evaluates');
    expect(check, run.stdout).toMatchObject({ ok: false });
    expect(check.error.description).toMatch(/allow-import-from-derivation/);
    expect(run.stdout + daemon!.output()).not.toContain(`secret-${nonce}`);
    // The builder never ran: no output of that name in the store.
    expect((await readdir('/nix/store')).filter((name) => name.endsWith(`-${nonce}`))).toEqual([]);
  }, 120_000);
});
