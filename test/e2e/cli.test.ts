// The CLI as a person types it: help, usage errors, exit codes, what a
// terminal shows and what a pipe gets. The real CLI, and the real daemon in a
// network namespace with no interfaces where a daemon is needed.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logLinesOf, runCli, resultOf, startCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { CLI, REPO, scratchWithRoot, testEnv } from '../helpers/env.js';
import { VERSION } from '../../src/version.js';
import { COLOUR_CODES, CONTROL_CODES, runOnTerminal, screenText } from '../helpers/terminal.js';

let dir: string;
let root: string;
let daemon: RunningDaemon | null = null;
// A socket nothing listens on: a command that got as far as connecting exits 3, not 2.
let nowhere: string;

beforeEach(async () => {
  ({ dir, root } = await scratchWithRoot('cli'));
  nowhere = join(dir, 'nobody-listens.sock');
});
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

const COMMANDS = ['daemon', 'status', 'validate', 'install', 'cancel', 'calamares-settings'];

describe('help', () => {
  it('-h, --help and help list every command, validate among them, and exit 0', async () => {
    for (const args of [['-h'], ['--help'], ['help']]) {
      const run = await runCli(args);
      expect(run.code, args.join(' ')).toBe(0);
      for (const command of COMMANDS) expect(run.stdout, args.join(' ')).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
      expect(run.stdout).toContain('Exit status:');
    }
  });

  it('help COMMAND, COMMAND --help and COMMAND -h print that command`s usage and exit 0', async () => {
    for (const command of COMMANDS) {
      for (const args of [['help', command], [command, '--help'], [command, '-h']]) {
        const run = await runCli(args);
        expect(run.code, args.join(' ')).toBe(0);
        expect(run.stdout, args.join(' ')).toContain(`Usage: nixos-offline-installer ${command} [options]`);
        expect(run.stderr).toBe('');
      }
    }
    expect((await runCli(['help', 'install'])).stdout).toContain('--root <dir>');
    expect((await runCli(['validate', '--help'])).stdout).toContain('--desktop <id>');
    expect((await runCli(['daemon', '-h'])).stdout).toContain('NOI_CONFIG_DIRS');
  });

  it('with no command, prints the usage to stderr and exits 2', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: nixos-offline-installer');
  });
});

describe('the command on PATH', () => {
  it('setup puts a nixos-offline-installer that runs this checkout with the pinned Node 24, and leaves a stranger`s file alone', async () => {
    const bin = join(dir, 'bin');
    execFileSync('bash', [join(REPO, 'scripts/install-command.sh'), bin], { stdio: 'pipe' });
    // No node on this PATH at all: the command brings its own.
    const env = { PATH: '/usr/bin:/bin' };
    expect(execFileSync(join(bin, 'nixos-offline-installer'), ['--version'], { env, encoding: 'utf8' }).trim()).toBe(VERSION);
    expect(execFileSync(join(bin, 'nixos-offline-installer'), ['help', 'validate'], { env, encoding: 'utf8' })).toContain('Usage: nixos-offline-installer validate [options]');
    expect(await readFile(join(bin, 'nixos-offline-installer'), 'utf8')).toContain(`It runs the checkout ${REPO}.`);

    const stranger = join(dir, 'other-bin');
    await mkdir(stranger);
    await writeFile(join(stranger, 'nixos-offline-installer'), '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const note = execFileSync('bash', [join(REPO, 'scripts/install-command.sh'), stranger], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(note).toBe('');
    expect(await readFile(join(stranger, 'nixos-offline-installer'), 'utf8')).toBe('#!/bin/sh\necho mine\n');
  });
});

describe('the README`s development recipe', () => {
  // The "Using it" lines that start a daemon from the checkout and install into a plain folder, as README.md has them.
  async function readmeRecipe(): Promise<string> {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const usingIt = readme.slice(readme.indexOf('\n## Using it\n'), readme.indexOf('\n## ', readme.indexOf('\n## Using it\n') + 1));
    const blocks = [...usingIt.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const recipe = blocks.find((b) => b.includes('unshare --net'));
    expect(recipe, 'the "Using it" section has a sh block that starts a daemon').toBeDefined();
    return recipe!;
  }

  it('runs as written on a development machine: the daemon starts, the example installs into a plain folder', async () => {
    const recipe = await readmeRecipe();
    // Its own folders in place of /tmp/noi and /tmp/nix-cfg (other runs may use those), and the command on PATH as setup puts it.
    const bin = join(dir, 'bin');
    execFileSync('bash', [join(REPO, 'scripts/install-command.sh'), bin], { stdio: 'pipe' });
    const noi = join(dir, 'noi');
    const lines = recipe.replaceAll('/tmp/noi', noi).replaceAll('/tmp/nix-cfg', join(dir, 'no-nix-cfg'));
    const script = `set -e\ncd ${REPO}\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n${lines}`;
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PATH: `${bin}:${process.env.PATH}` };
    delete env.NIX_CONFIG;
    delete env.NOI_SOCKET;
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.once('close', (code) => resolve({ code, out }));
    });
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain(`configuration: ${join(REPO, 'test/fixtures/nix-cfg')}`);
    expect(run.out).toContain('Installation finished in');
    expect(await readFile(join(noi, 'root/etc/nixos/configuration.nix'), 'utf8')).toBe(await readFile(join(REPO, 'test/fixtures/nix-cfg/configuration.nix'), 'utf8'));
    expect(await readlink(join(noi, 'root/nix/var/nix/profiles/system'))).toMatch(/^system-\d+-link$/);
  });
});

describe('usage errors exit 2 before anything is sent', () => {
  async function usageError(args: string[], message: RegExp) {
    const cli = startCli(args);
    // A CLI that hangs (waiting for a daemon) is ended, and fails below.
    let hung = false;
    const timer = setTimeout(() => ((hung = true), cli.signal('SIGKILL')), 30_000);
    const run = await cli.done;
    clearTimeout(timer);
    expect(hung, `${args.slice(0, 4).join(' ')}: the CLI waited instead of refusing`).toBe(false);
    expect(run.code, `${args.slice(0, 4).join(' ')}\n${run.stderr}`).toBe(2);
    expect(run.stderr).toMatch(message);
    // One clear message, never a stack trace.
    expect(run.stderr).not.toMatch(/^\s+at /m);
    return run;
  }

  it('an unknown command, an unknown option, an extra argument or a missing --root', async () => {
    await usageError(['frobnicate'], /unknown command 'frobnicate'/);
    await usageError(['status', '--socket', nowhere, '--bogus'], /unknown option '--bogus'/);
    await usageError(['status', '--socket', nowhere, 'extra'], /too many arguments for 'status'. Expected 0 arguments but got 1/);
    await usageError(['install', '--socket', nowhere], /required option '--root <dir>' not specified/);
    await usageError(['install', '--socket', nowhere, '--answers', 'install.json', '--root', '/mnt'], /--answers takes the disk, user and desktop from the answer file/);
    // The seed's URL, for install and fleet status alike (the daemon takes the same form: test/unit/fleet-messages.test.ts).
    await usageError(['install', '--socket', nowhere, '--fleet', 'http://seed:8470'], /--fleet must be the seed's URL as fleet serve printed it, e\.g\. http:\/\/10\.77\.0\.1:8470 \(got "http:\/\/seed:8470"\)/);
    await usageError(['fleet', 'status', '--socket', nowhere, '--fleet', 'http://10.77.0.1:70000'], /--fleet must be the seed's URL/);
  });

  it('an option given twice is refused, naming it, rather than the last one silently winning', async () => {
    await usageError(['validate', '--socket', nowhere, '--user', 'a', '--user', 'b'], /--user was given more than once \("a", then "b"\)/);
    await usageError(['daemon', '--log-level', 'info', '--log-level', 'debug'], /--log-level was given more than once/);
  });

  it('with --json, a usage error is one JSON object on stdout, as every other error is', async () => {
    for (const [args, title] of [
      [['install', '--socket', nowhere, '--json'], /^required option '--root <dir>' not specified/],
      [['status', '--socket', nowhere, '--json', '--bogus'], /^unknown option '--bogus'/],
      [['status', '--socket', nowhere, '--json', '--json'], /^--json was given more than once/],
      [['validate', '--json', '--socket', nowhere, 'extra'], /^too many arguments for 'validate'/],
    ] as const) {
      const run = await runCli([...args]);
      expect(run.code, args.join(' ')).toBe(2);
      const lines = run.stdout.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      const error = JSON.parse(lines[0]!);
      expect(error).toMatchObject({ type: 'error', data: { code: 'usage' } });
      expect(error.data.title, args.join(' ')).toMatch(title);
    }
  });

  it('an argument too large for the protocol exits at once, naming it, with the daemon unharmed', async () => {
    daemon = await startDaemon({ dir, configDirs: [dir] });
    const huge = `/${'a'.repeat(70_000)}`;
    const root = await usageError(['install', '--socket', daemon.socket, '--root', huge], /--root is 70001 bytes long/);
    expect(root.stderr.length).toBeLessThan(2000);
    await usageError(['validate', '--socket', daemon.socket, '--user', 'u'.repeat(70_000)], /--user is 70000 bytes long/);
    expect((await runCli(['status', '--socket', daemon.socket, '--json'])).code).toBe(0);
  });
});

// `COMMAND | head -N` in bash with pipefail: the CLI's own exit status and what it printed to stderr.
function piped(args: string[], lines: number): Promise<{ code: number; stderr: string; shown: string }> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `${quoted} 2>"$ERR" | head -n ${lines}; echo "status \${PIPESTATUS[0]}" >&2`], { env: testEnv({ ERR: join(dir, 'piped-stderr') }), stdio: ['ignore', 'pipe', 'pipe'] });
    let shown = '';
    let status = '';
    child.stdout.on('data', (d) => (shown += d));
    child.stderr.on('data', (d) => (status += d));
    child.once('close', async () => resolve({ code: Number(/status (\d+)/.exec(status)?.[1] ?? -1), stderr: await readFile(join(dir, 'piped-stderr'), 'utf8'), shown }));
  });
}

describe('a reader that stops early (| head)', () => {
  it('--help | head -1 and install -h | head: the CLI ends quietly with exit 0', async () => {
    for (let i = 0; i < 3; i++) {
      for (const [args, lines] of [[['--help'], 1], [['install', '-h'], 10], [['help', 'daemon'], 2]] as const) {
        const run = await piped([...args], lines);
        expect(run.stderr, args.join(' ')).toBe('');
        expect(run.code, args.join(' ')).toBe(0);
        expect(run.shown.split('\n').length).toBe(lines + 1);
      }
    }
  });

  it('status --watch | head during an install: ends quietly with exit 0, and the install goes on', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { hostName: 'watched' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const install = startCli(['install', '--socket', daemon.socket, '--root', root, '--json']);
    await install.waitFor((e) => e.type === 'phase');
    const watching = piped(['status', '--watch', '--socket', daemon.socket], 3);
    expect(resultOf(await install.done).ok).toBe(true);
    // A watch prints only what happens (phases, progress by tenths, the result): a change of the
    // folder makes a live check, whose line meets the closed pipe if nothing did before.
    await writeFile(join(source, 'extra.nix'), '{ }\n');
    const watch = await watching;
    expect(watch.stderr).toBe('');
    expect(watch.code).toBe(0);
  });
});

describe('with a daemon', () => {
  it('resolves a relative --root against the current folder', async () => {
    const source = await writeConfig(join(dir, 'cfg'));
    daemon = await startDaemon({ dir, configDirs: [source] });
    await mkdir(join(dir, 'here'), { mode: 0o755 });
    const run = await runCli(['install', '--socket', daemon.socket, '--root', '../not-mounted', '--json'], { cwd: join(dir, 'here') });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(resultOf(run).error).toMatchObject({ code: 'target-missing' });
    expect(resultOf(run).error.title).toContain(join(dir, 'not-mounted'));
  });

  it('Ctrl-C on status --watch leaves with exit 0', async () => {
    daemon = await startDaemon({ dir, configDirs: [dir] });
    for (const json of [true, false]) {
      const watch = startCli(['status', '--watch', '--socket', daemon.socket, ...(json ? ['--json'] : [])]);
      // The status it prints first comes just before it listens for Ctrl-C (same tick), so it is ready then, however loaded the machine.
      if (json) await watch.waitFor((e) => e.type === 'reply');
      else await watch.waitForStdout(/\S/);
      watch.signal('SIGINT');
      const run = await watch.done;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
    }
  });

  it('a daemon that is not there: exit 3 with what to do', async () => {
    const run = await runCli(['status', '--socket', nowhere]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('systemctl start nixos-offline-installer');
  });

  it('on a terminal: the folder first, the bar, the error once with the log, colour unless NO_COLOR', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { bootloaderFails: true, hostName: 'terminal' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const shown = await runOnTerminal(['install', '--socket', daemon.socket, '--root', root]);
    expect(shown.code).toBe(1);
    const text = screenText(shown.output);
    expect(text.split('\n')[0]).toBe(`configuration: ${source}`);
    // The bar is redrawn in place on a terminal.
    expect(shown.output).toMatch(/\r\x1b\[2K\[#+\.*\] +\d+%/);
    const count = (needle: string) => text.split(needle).length - 1;
    expect(count('Installing the boot loader failed')).toBe(1);
    expect(count('Failed to install bootloader: no EFI system partition mounted at /boot')).toBe(1);
    expect(text).toMatch(/Full log: \S+\/install-\d{8}-\d{6}-[0-9a-f]{6}\.log/);
    expect(text).not.toContain('…');
    expect(shown.output).toMatch(COLOUR_CODES);

    const plain = await runOnTerminal(['install', '--socket', daemon.socket, '--root', root], { NO_COLOR: '1' });
    expect(plain.code).toBe(1);
    expect(plain.output).not.toMatch(COLOUR_CODES);
    expect(screenText(plain.output).split('\n')[0]).toBe(`configuration: ${source}`);

    for (const args of [['status'], ['validate']]) {
      const other = await runOnTerminal([...args, '--socket', daemon.socket]);
      expect(screenText(other.output).split('\n')[0], args[0]).toBe(`configuration: ${source}`);
    }
  });

  it('through a pipe: what a terminal shows, not every build line; --verbose and --json get every line, and so does the log', async () => {
    const lines = 3000;
    const buildLines = (text: string) => text.split('\n').filter((l) => /build output line \d+ of 3000/.test(l)).length;
    const source = join(dir, 'cfg');
    // A fresh build each time (a new nonce), so each run prints the build's lines.
    const fresh = () => writeConfig(source, { hostName: 'piped', noise: { lines, nonce: randomBytes(6).toString('hex') } });
    await fresh();
    daemon = await startDaemon({ dir, configDirs: [source] });
    // --allow-unmounted on a mounted root: the install warns, and a warning is shown.
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(buildLines(run.stdout)).toBe(0);
    expect(run.stdout).toContain('==> Building the system from the local store');
    expect(run.stdout).toContain(`    [daemon] ${root} may be an unmounted folder (allowUnmounted)`);
    expect(run.stdout.split('\n').filter((l) => /^\[[#.]+\] +\d+%/.test(l)).length).toBeLessThanOrEqual(11);
    expect(run.stdout).toMatch(/Installation finished in \d+\.\d s \(the daemon's install, from the request to the log written/);
    expect(run.stdout.split('\n').length).toBeLessThan(60);
    const logPath = /^ {2}log: +(\S+)$/m.exec(run.stdout)![1]!;
    expect(buildLines(await readFile(logPath, 'utf8'))).toBe(lines);

    await fresh();
    const verbose = await runCli(['install', '--socket', daemon.socket, '--root', root, '--verbose']);
    expect(verbose.code).toBe(0);
    expect(buildLines(verbose.stdout)).toBe(lines);

    await fresh();
    const json = await runCli(['install', '--socket', daemon.socket, '--root', root, '--json']);
    expect(json.code).toBe(0);
    expect(logLinesOf(json.events).filter((l) => /^build output line \d+ of 3000$/.test(l.line))).toHaveLength(lines);
  });

  it('through a pipe: the folder first, no control codes at all', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { bootloaderFails: true, hostName: 'piped' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root]);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')[0]).toBe(`configuration: ${source}`);
    expect(run.stdout + run.stderr).not.toMatch(CONTROL_CODES);
    for (const command of ['status', 'validate']) {
      const other = await runCli([command, '--socket', daemon.socket]);
      expect(other.stdout.split('\n')[0], command).toBe(`configuration: ${source}`);
      expect(other.stdout).not.toMatch(CONTROL_CODES);
    }
  });
});
