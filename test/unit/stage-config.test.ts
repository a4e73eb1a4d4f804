import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageConfig } from '../../src/stage/stage-config.js';
import { scanSource } from '../../src/snapshot/scan-source.js';
import { InstallError } from '../../src/common/install-error.js';
import type { JobContext } from '../../src/common/context.js';
import { scratch } from '../helpers/env.js';
import { readTree } from '../helpers/tree.js';

let dir: string;
let source: string;
let root: string;
let logged: string[];

function context(signal = new AbortController().signal): JobContext {
  return {
    installId: 'test',
    root,
    signal,
    settings: { configDirs: [source], nixosExpr: '', nixpkgs: null, channelProfile: '', manifest: null, socketGid: 0 },
    log: (_source, line) => logged.push(line),
    output: (_source, line) => logged.push(line),
    recentLines: () => [],
    phase: () => undefined,
    progress: () => undefined,
  };
}

async function failure(promise: Promise<unknown>): Promise<InstallError> {
  try {
    await promise;
  } catch (error) {
    return error as InstallError;
  }
  throw new Error('expected a failure');
}

beforeEach(async () => {
  dir = await scratch('stage');
  source = join(dir, 'nix-cfg');
  root = join(dir, 'root');
  logged = [];
  await mkdir(join(source, 'sub dir/deeper'), { recursive: true });
  await mkdir(root);
  await writeFile(join(source, 'configuration.nix'), '{ }\n');
  await writeFile(join(source, 'sub dir/deeper/a file.nix'), 'x');
  await symlink('sub dir/deeper/a file.nix', join(source, 'link.nix'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('stageConfig', () => {
  it('copies the tree as it is, links as links, and makes read-only files owner-writable', async () => {
    // As on the ISO's squashfs: read-only files in read-only folders.
    await chmod(join(source, 'configuration.nix'), 0o444);
    await chmod(join(source, 'sub dir/deeper/a file.nix'), 0o444);
    await chmod(join(source, 'sub dir/deeper'), 0o555);
    const staged = await stageConfig(context(), source);
    expect((await stat(join(root, 'etc/nixos/sub dir/deeper'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(root, 'etc/nixos/sub dir/deeper/a file.nix'))).mode & 0o777).toBe(0o644);
    expect(staged).toMatchObject({ etcNixos: join(root, 'etc/nixos'), backup: null, files: 2 });
    expect(await readTree(join(root, 'etc/nixos'))).toEqual(await readTree(source));
    expect((await stat(join(root, 'etc/nixos/configuration.nix'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(source, 'configuration.nix'))).mode & 0o777).toBe(0o444);
    expect((await readdir(join(root, 'etc'))).sort()).toEqual(['nixos']);
  });

  it('moves an existing /etc/nixos to a timestamped backup, and replaces an empty one', async () => {
    await mkdir(join(root, 'etc/nixos'), { recursive: true });
    await writeFile(join(root, 'etc/nixos/configuration.nix'), 'old');
    const staged = await stageConfig(context(), source);
    expect(staged.backup).toMatch(/\/etc\/nixos\.backup-\d{8}-\d{6}$/);
    expect(await readFile(join(staged.backup!, 'configuration.nix'), 'utf8')).toBe('old');
    expect(await readFile(join(root, 'etc/nixos/configuration.nix'), 'utf8')).toBe('{ }\n');
  });

  it.each([
    ['an absolute link', (s: string) => symlink('/etc/passwd', join(s, 'passwd.nix')), 'passwd.nix -> /etc/passwd'],
    ['a link out of the folder', (s: string) => symlink('../../secret', join(s, 'sub dir/escape')), 'sub dir/escape -> ../../secret'],
    ['a named pipe', async (s: string) => execFileSync('mkfifo', [join(s, 'pipe')]), 'pipe (a device, socket or pipe'],
  ])('refuses %s, naming it, and writes nothing to the target', async (_what, make, named) => {
    await make(source);
    const error = await failure(stageConfig(context(), source));
    expect(error).toBeInstanceOf(InstallError);
    expect(error.code).toBe('config-unsafe-entries');
    expect(error.description).toContain(named);
    expect(await readdir(join(root, 'etc')).catch(() => [])).toEqual([]);
  });

  it('gives up with a clear error when the folder keeps changing during the copy', async () => {
    await writeFile(join(source, 'big.bin'), Buffer.alloc(64 * 1024 * 1024));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await writeFile(join(source, 'configuration.nix'), `{ } # edit ${i}\n`);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const error = await failure(stageConfig(context(), source));
    writing = false;
    await writer;
    expect(error.code).toBe('config-changing');
    expect(error.title).toBe(`${source} keeps changing`);
    expect(await readdir(join(root, 'etc'))).toEqual([]);
    expect(logged.some((l) => l.includes('changed while it was being copied'))).toBe(true);
  });

  it('stages as root:root, files 0644 (0600 when not world-readable, x bits kept), folders 0755, no setuid/setgid/sticky bits', async () => {
    // As the audit found it: the live user's files, world-writable, one setuid, a folder 0777.
    await chown(join(source, 'configuration.nix'), 1000, 1000);
    await chmod(join(source, 'configuration.nix'), 0o666);
    await writeFile(join(source, 'secret.nix'), '"key"', { mode: 0o640 });
    await writeFile(join(source, 'tool.sh'), '#!/bin/sh\n', { mode: 0o4755 });
    await chmod(join(source, 'sub dir'), 0o3777);
    await chown(join(source, 'sub dir'), 1000, 1000);
    await stageConfig(context(), source);
    const at = (p: string) => stat(join(root, 'etc/nixos', p));
    const staged = [await at(''), await at('configuration.nix'), await at('secret.nix'), await at('tool.sh'), await at('sub dir'), await at('sub dir/deeper/a file.nix')];
    expect(staged.map((i) => `${i.uid}:${i.gid}`)).toEqual(Array(6).fill('0:0'));
    expect(staged.map((i) => (i.mode & 0o7777).toString(8))).toEqual(['755', '644', '600', '755', '755', '644']);
    expect((await lstat(join(root, 'etc/nixos/link.nix'))).uid).toBe(0);
  });

  it('refuses a chain of links that leaves the folder although each text looks internal', async () => {
    // d1 -> . ; d2 -> d1/.. (the parent) ; d3 -> d2/.. : textually inside, really outside.
    await symlink('.', join(source, 'd1'));
    await symlink('d1/..', join(source, 'd2'));
    await symlink('d2/..', join(source, 'd3'));
    const error = await failure(stageConfig(context(), source));
    expect(error.code).toBe('config-unsafe-entries');
    expect(error.description).toContain(`${source}/d2 -> d1/.. (points outside ${source})`);
    expect(error.description).toContain(`${source}/d3 -> d2/.. (points outside ${source})`);
    expect(error.description).not.toContain('d1 -> .');
    expect(await readdir(join(root, 'etc'))).toEqual([]);
  });

  it('refuses a loop of links', async () => {
    await symlink('b', join(source, 'a'));
    await symlink('a', join(source, 'b'));
    expect((await failure(stageConfig(context(), source))).description).toContain(`${source}/a -> b (a loop of links)`);
  });

  it('never copies through a folder swapped for a link during the copy, not even for a moment', async () => {
    // A victim only root may read, with the same names as a folder of the configuration.
    const victimDir = join(dir, 'victim');
    await mkdir(join(victimDir, 'deeper'), { recursive: true, mode: 0o700 });
    await writeFile(join(victimDir, 'deeper/a file.nix'), 'x');
    await writeFile(join(victimDir, 'shadow'), 'root:$6$secret\n', { mode: 0o600 });
    await writeFile(join(source, 'sub dir/shadow'), '{ }');
    for (let i = 0; i < 300; i++) {
      await writeFile(join(source, `sub dir/f${i}.nix`), '{ }');
      await writeFile(join(victimDir, `f${i}.nix`), '{ }');
    }
    let running = true;
    // The moment the copy is inside that folder, it becomes a link to the victim (and stays one).
    const swapper = (async () => {
      while (running && !(await lstat(join(root, 'etc/.nixos.staging-test/sub dir/f150.nix')).catch(() => null))) await new Promise((r) => setImmediate(r));
      if (!running) return;
      await rename(join(source, 'sub dir'), join(source, 'sub dir.real'));
      await symlink(victimDir, join(source, 'sub dir'));
    })();
    // The copy of that folder's "shadow", read again and again while the copy runs: it must never hold the victim's content.
    const seen: string[] = [];
    const watcher = (async () => {
      while (running) {
        const text = await readFile(join(root, 'etc/.nixos.staging-test/sub dir/shadow'), 'utf8').catch(() => '');
        if (text.includes('secret')) seen.push(text);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const outcome = await stageConfig(context(), source).catch((error: InstallError) => error);
    running = false;
    await Promise.all([swapper, watcher]);
    expect(seen).toEqual([]);
    // The swap is noticed: the next snapshot sees the link and refuses it.
    expect(outcome).toMatchObject({ code: 'config-unsafe-entries' });
    expect(await readdir(join(root, 'etc'))).toEqual([]);
  });

  it('stages a copy the installer made (root\'s alone) only if its folders and files are root\'s alone', async () => {
    await chmod(source, 0o755);
    await chmod(join(source, 'sub dir'), 0o777);
    expect(await failure(stageConfig(context(), source, source, 'roots-alone'))).toMatchObject({ message: `${source}/sub dir is writable by its group (mode 0777)` });
    await chmod(join(source, 'sub dir'), 0o755);
    await chown(join(source, 'sub dir/deeper/a file.nix'), 65534, 65534);
    expect((await failure(stageConfig(context(), source, source, 'roots-alone'))).message).toBe(`sub dir/deeper/a file.nix is not root's alone (owner uid 65534, mode 644), in a folder only the installer writes`);
    expect(await readdir(join(root, 'etc'))).toEqual([]);
    await chown(join(source, 'sub dir/deeper/a file.nix'), 0, 0);
    await stageConfig(context(), source, source, 'roots-alone');
    expect(await readFile(join(root, 'etc/nixos/sub dir/deeper/a file.nix'), 'utf8')).toBe('x');
  });

  it('keeps two backups made in the same second apart', async () => {
    await mkdir(join(root, 'etc/nixos'), { recursive: true });
    await writeFile(join(root, 'etc/nixos/configuration.nix'), 'first');
    // Backups of this second and the next already there: the name must not collide.
    const now = new Date();
    for (const at of [now, new Date(now.getTime() + 1000)]) {
      const name = `nixos.backup-${at.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}`;
      await mkdir(join(root, 'etc', name));
      await writeFile(join(root, 'etc', name, 'configuration.nix'), 'older');
    }
    const staged = await stageConfig(context(), source);
    expect(staged.backup).toMatch(/\/etc\/nixos\.backup-\d{8}-\d{6}-2$/);
    expect(await readFile(join(staged.backup!, 'configuration.nix'), 'utf8')).toBe('first');
    expect((await readdir(join(root, 'etc'))).filter((n) => n.includes('staging'))).toEqual([]);
  });

  it('refuses a target whose etc is a link, and writes nothing through it', async () => {
    const victim = join(dir, 'victim-etc');
    await mkdir(join(victim, 'nixos'), { recursive: true });
    await writeFile(join(victim, 'nixos/configuration.nix'), 'the live one');
    await symlink(victim, join(root, 'etc'));
    const error = await failure(stageConfig(context(), source));
    expect(error.message).toBe(`${root}/etc is a symbolic link; links inside the target are not followed`);
    expect(await readdir(victim)).toEqual(['nixos']);
    expect(await readFile(join(victim, 'nixos/configuration.nix'), 'utf8')).toBe('the live one');
  });

  it('fingerprints change with any write', async () => {
    const before = await scanSource(source);
    await writeFile(join(source, 'sub dir/deeper/a file.nix'), 'y');
    expect((await scanSource(source)).fingerprint).not.toBe(before.fingerprint);
  });
});
