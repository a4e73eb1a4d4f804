// The README's commands from a checkout only root may enter, as CI clones
// (`git clone` into a `mktemp -d` folder, 0700) or as root clones into /root:
// the eval user cannot read the checkout's nix/ or test/fixtures/nixos there,
// so the daemon gives it readable copies (src/nix/eval-readable.ts). The
// clone holds this working tree's files (tracked and new ones) and its build.
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EVAL_USER, REPO, scratchWithRoot, testEnv } from '../helpers/env.js';

let outer: string;
let clone: string;

beforeAll(async () => {
  outer = await mkdtemp(join(tmpdir(), 'noi-private-'));
  expect((await stat(outer)).mode & 0o777).toBe(0o700);
  clone = join(outer, 'x');
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO, clone]);
  // This working tree's state, not only its last commit: every file git would commit, and the build.
  const files = execFileSync('git', ['-C', REPO, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) await cp(join(REPO, file), join(clone, file), { force: true, verbatimSymlinks: true }).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
  await cp(join(REPO, 'dist'), join(clone, 'dist'), { recursive: true });
  await symlink(join(REPO, 'node_modules'), join(clone, 'node_modules'));
}, 120_000);
afterAll(() => rm(outer, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!EVAL_USER)('a checkout in a folder only root may enter', () => {
  it("the demo's path: the clone's daemon evaluates as the eval user and installs the clone's example configuration", async () => {
    const { dir, root } = await scratchWithRoot('private-demo');
    let daemon: RunningDaemon | null = null;
    try {
      const cli = join(clone, 'dist/cli/main.js');
      daemon = await startDaemon({ dir, cli, configDirs: [join(clone, 'test/fixtures/nix-cfg')], nixosExpr: join(clone, 'test/fixtures/nixos'), env: { PATH: `${join(clone, 'test/stand-ins')}:${process.env.PATH}` } });
      const install = await run(process.execPath, [cli, 'install', '--socket', daemon.socket, '--root', root], clone, testEnv());
      expect(install.output).not.toMatch(/Permission denied/);
      expect(install.code, install.output).toBe(0);
      expect(install.output).toMatch(/Installation finished/);
      expect(await readFile(join(root, 'etc/nixos/configuration.nix'), 'utf8')).toBe(await readFile(join(clone, 'test/fixtures/nix-cfg/configuration.nix'), 'utf8'));
      // The copies the eval user read are the daemon's own, next to its home, and gone when it stops.
      const copies = daemon.output().match(/"evalReadable":"([^"]+)"/)?.[1];
      expect(copies && dirname(copies)).toBe(dir);
      await daemon.stop();
      await expect(stat(copies!)).rejects.toThrow(/ENOENT/);
    } finally {
      await cleanUp(dir, daemon);
    }
  }, 300_000);

  it('an end-to-end test file passes when run from the clone', async () => {
    const result = await run(join(clone, 'node_modules/.bin/vitest'), ['run', 'test/e2e/config-folder.test.ts'], clone, { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' });
    expect(result.output).toMatch(/Tests\s+\d+ passed/);
    expect(result.code, result.output).toBe(0);
  }, 600_000);
});
