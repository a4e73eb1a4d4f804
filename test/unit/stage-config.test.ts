import { mkdir, readdir, readFile, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageConfig } from '../../src/stage/stage-config.js';
import { scanSource } from '../../src/stage/scan-source.js';
import { InstallError } from '../../src/step/install-error.js';
import type { JobContext } from '../../src/step/context.js';
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
    settings: { configDirs: [source], nixosExpr: '', nixpkgs: null, channelProfile: '', manifest: null },
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

  it('fingerprints change with any write', async () => {
    const before = await scanSource(source);
    await writeFile(join(source, 'sub dir/deeper/a file.nix'), 'y');
    expect((await scanSource(source)).fingerprint).not.toBe(before.fingerprint);
  });
});
