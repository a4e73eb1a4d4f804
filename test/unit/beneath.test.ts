// The no-follow helper every write under the target goes through: a link
// anywhere on the way, absolute or relative, is refused and never followed;
// a folder swapped for a link after it was opened is not seen through.
import { chmod, chown, lstat, mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Beneath, UnsafePathError, notRootsOnly, withDir } from '../../src/fs/beneath.js';
import { scratch } from '../helpers/env.js';

let dir: string;
let root: string;
let victim: string;

beforeEach(async () => {
  dir = await scratch('beneath');
  root = join(dir, 'root');
  victim = join(dir, 'victim');
  await mkdir(root, { mode: 0o755 });
  await mkdir(victim, { mode: 0o755 });
  await writeFile(join(victim, 'shadow'), 'secret\n', { mode: 0o600 });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function error(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

const open = () => Beneath.open(root, { rootOwned: true });

describe('Beneath', () => {
  it('creates missing folders and files beneath the root, none through a link', async () => {
    await withDir(open(), async (r) => {
      await withDir(r.dir('var/log/app', { create: 0o750 }), async (d) => {
        const file = await d.createFile('x.log', 0o640);
        await file.writeFile('hello');
        await file.close();
      });
    });
    expect(await readFile(join(root, 'var/log/app/x.log'), 'utf8')).toBe('hello');
    expect((await stat(join(root, 'var/log/app'))).mode & 0o777).toBe(0o750);
  });

  it.each([
    ['an absolute link', () => symlink(victim, join(root, 'etc'))],
    ['a relative link out of the root', () => symlink('../victim', join(root, 'etc'))],
    ['a link to a folder inside the root', async () => (await mkdir(join(root, 'real')), symlink('real', join(root, 'etc')))],
  ])('refuses %s on the way, by name, and writes nothing through it', async (_what, make) => {
    await make();
    const e = await error(withDir(open(), (r) => r.dir('etc/nixos', { create: 0o755 })));
    expect(e).toBeInstanceOf(UnsafePathError);
    expect(e.message).toBe(`${root}/etc is a symbolic link; links inside the target are not followed`);
    expect(await lstat(join(victim, 'nixos')).catch(() => null)).toBeNull();
    expect(await lstat(join(root, 'real/nixos')).catch(() => null)).toBeNull();
  });

  it('never creates a file through a link at its name, dangling or not', async () => {
    await symlink(join(victim, 'shadow'), join(root, 'install.log'));
    await symlink(join(victim, 'new-file'), join(root, 'other.log'));
    await withDir(open(), async (r) => {
      expect((await error(r.createFile('install.log', 0o640))).code).toBe('EEXIST');
      expect((await error(r.createFile('other.log', 0o640))).code).toBe('EEXIST');
      expect(await error(r.openFile('install.log'))).toBeInstanceOf(UnsafePathError);
    });
    expect(await readFile(join(victim, 'shadow'), 'utf8')).toBe('secret\n');
    expect((await stat(join(victim, 'shadow'))).mode & 0o777).toBe(0o600);
    expect(await lstat(join(victim, 'new-file')).catch(() => null)).toBeNull();
  });

  it('renames over a link: the link is replaced, its target untouched', async () => {
    await symlink(join(victim, 'shadow'), join(root, 'install.log'));
    await withDir(open(), async (r) => {
      const file = await r.createFile('.install.log.tmp', 0o640);
      await file.writeFile('log\n');
      await file.close();
      await r.rename('.install.log.tmp', r, 'install.log');
    });
    expect((await lstat(join(root, 'install.log'))).isFile()).toBe(true);
    expect(await readFile(join(root, 'install.log'), 'utf8')).toBe('log\n');
    expect(await readFile(join(victim, 'shadow'), 'utf8')).toBe('secret\n');
  });

  it('keeps acting on the folder it opened when the name is swapped for a link meanwhile', async () => {
    await mkdir(join(root, 'etc'));
    await withDir(open(), async (r) => {
      await withDir(r.dir('etc'), async (etc) => {
        // What a race would do: the folder moves away and a link to the victim takes its name.
        await rename(join(root, 'etc'), join(root, 'moved'));
        await symlink(victim, join(root, 'etc'));
        await etc.mkdir('nixos', 0o755);
        await (await etc.createFile('f', 0o644)).close();
      });
    });
    expect((await stat(join(root, 'moved/nixos'))).isDirectory()).toBe(true);
    expect(await lstat(join(victim, 'nixos')).catch(() => null)).toBeNull();
    expect(await lstat(join(victim, 'f')).catch(() => null)).toBeNull();
  });

  it('refuses a folder on the way that someone other than root owns or may write to, but accepts a sticky one', async () => {
    await mkdir(join(root, 'var'));
    await chown(join(root, 'var'), 12345, 12345);
    expect((await error(withDir(open(), (r) => r.dir('var/log', { create: 0o755 })))).message).toBe(`${root}/var is owned by uid 12345, not root`);
    await chown(join(root, 'var'), 0, 0);
    await chmod(join(root, 'var'), 0o775);
    expect((await error(withDir(open(), (r) => r.dir('var/log', { create: 0o755 })))).message).toBe(`${root}/var is writable by its group (mode 0775)`);
    await chmod(join(root, 'var'), 0o1777);
    await withDir(open(), (r) => withDir(r.dir('var/log', { create: 0o755 }), async () => undefined));
    expect(notRootsOnly({ uid: 0, mode: 0o40757 })).toBe('is writable by others (mode 0757)');
  });

  it('refuses a file where a folder belongs, and the root itself being a link', async () => {
    await writeFile(join(root, 'var'), '');
    expect((await error(withDir(open(), (r) => r.dir('var/log', { create: 0o755 })))).message).toBe(`${root}/var is not a folder`);
    await symlink(victim, join(dir, 'root-link'));
    expect(await error(Beneath.open(join(dir, 'root-link'), { rootOwned: true }))).toBeInstanceOf(UnsafePathError);
  });

  it('copies an open file into a new one, and removes folders without following links in them', async () => {
    await writeFile(join(dir, 'source.txt'), 'content');
    const { open: openFile } = await import('node:fs/promises');
    const source = await openFile(join(dir, 'source.txt'), 'r');
    await withDir(open(), async (r) => {
      await (await r.copyInto(source, 'copy.txt', 0o600)).close();
      await r.mkdir('doomed', 0o700);
      await symlink(victim, join(root, 'doomed/link'));
      await r.remove('doomed');
    });
    await source.close();
    expect(await readFile(join(root, 'copy.txt'), 'utf8')).toBe('content');
    expect(await lstat(join(root, 'doomed')).catch(() => null)).toBeNull();
    expect(await readFile(join(victim, 'shadow'), 'utf8')).toBe('secret\n');
    expect(await readlink(join(dir, 'root-link')).catch(() => null)).toBeNull();
  });

  it('takes only single names: no "..", no slashes', async () => {
    await withDir(open(), async (r) => {
      expect(() => r.at('..')).toThrow('is not a single path component');
      expect(() => r.at('a/b')).toThrow('is not a single path component');
      expect((await error(r.dir('a/../..', { create: 0o755 }))).message).toContain('is not a single path component');
    });
  });
});
