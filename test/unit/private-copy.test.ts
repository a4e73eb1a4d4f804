// The private copies a check or an install makes of the configuration folder
// (src/prepare/private-copy.ts): one kept copy brought up to date, each private
// copy hard links to it. What a check of an unchanged folder copies, and that
// nothing written into one copy reaches another.
import { lstat, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropKeptCopy, privateCopy, removeLeftCopies, writeNewFile, type PrivateCopy } from '../../src/prepare/private-copy.js';
import { spawnSync } from 'node:child_process';
import type { CommandContext } from '../../src/common/context.js';
import { scratch } from '../helpers/env.js';

let dir: string;
let source: string;
const copies: PrivateCopy[] = [];
const ctx: CommandContext = { signal: new AbortController().signal, log: () => undefined, output: () => undefined, recentLines: () => [] };

async function copy(): Promise<PrivateCopy> {
  const made = await privateCopy(ctx, source);
  copies.push(made);
  return made;
}

// Past the kept copy's window for files written just before it (RACY_MS): they are copied again next time.
const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));
const inode = async (path: string) => (await stat(path)).ino;
const keptFolders = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('nixos-offline-installer-kept-'));

beforeEach(async () => {
  dir = await scratch('private-copy');
  source = join(dir, 'nix-cfg');
  await mkdir(join(source, 'modules'), { recursive: true });
  await writeFile(join(source, 'configuration.nix'), '{ imports = [ ./modules/a.nix ]; }\n');
  await writeFile(join(source, 'modules/a.nix'), '{ }\n');
  await writeFile(join(source, 'hardware-configuration.nix'), '{ }\n');
  await symlink('modules/a.nix', join(source, 'a.nix'));
  await settle();
});
afterEach(async () => {
  for (const made of copies.splice(0)) await made.remove();
  await dropKeptCopy();
  await rm(dir, { recursive: true, force: true });
});

describe('private copies of the configuration folder', () => {
  it('a second copy of an unchanged folder copies nothing: its files are the first copy’s', async () => {
    const first = await copy();
    expect(first.written).toBe(4);
    const second = await copy();
    expect(second.written).toBe(0);
    expect(second.folder).not.toBe(first.folder);
    for (const file of ['configuration.nix', 'modules/a.nix', 'hardware-configuration.nix']) {
      expect(await inode(join(second.folder, file)), file).toBe(await inode(join(first.folder, file)));
    }
    expect(await readFile(join(second.folder, 'a.nix'), 'utf8')).toBe('{ }\n');
  });

  it('copies only what changed; earlier copies keep what they had', async () => {
    const first = await copy();
    await writeFile(join(source, 'modules/a.nix'), '{ networking.hostName = "b"; }\n');
    await writeFile(join(source, 'modules/new.nix'), '{ }\n');
    await rm(join(source, 'hardware-configuration.nix'));
    await settle();
    const second = await copy();
    expect(second.written).toBe(2);
    expect(await readFile(join(second.folder, 'modules/a.nix'), 'utf8')).toContain('hostName');
    expect(await readFile(join(first.folder, 'modules/a.nix'), 'utf8')).toBe('{ }\n');
    expect(await lstat(join(second.folder, 'hardware-configuration.nix')).catch(() => null)).toBeNull();
    expect(await readdir(join(second.folder, 'modules'))).toEqual(['a.nix', 'new.nix']);
    expect(await inode(join(second.folder, 'configuration.nix'))).toBe(await inode(join(first.folder, 'configuration.nix')));
  });

  it('a file written into one copy (the generated hardware configuration) reaches no other copy', async () => {
    const first = await copy();
    await writeNewFile(join(first.folder, 'hardware-configuration.nix'), '{ boot.generated = true; }\n');
    await writeNewFile(join(first.folder, 'configuration.nix'), 'changed\n');
    const second = await copy();
    expect(second.written).toBe(0);
    expect(await readFile(join(second.folder, 'hardware-configuration.nix'), 'utf8')).toBe('{ }\n');
    expect(await readFile(join(second.folder, 'configuration.nix'), 'utf8')).toBe('{ imports = [ ./modules/a.nix ]; }\n');
  });

  it('copies again next time a file written just before it (its stamp may not show a second write)', async () => {
    await writeFile(join(source, 'modules/a.nix'), '{ x = 1; }\n');
    await copy();
    await settle();
    expect((await copy()).written).toBe(1);
    expect((await copy()).written).toBe(0);
  });

  it('keeps one copy, of the folder in use, and none once dropped', async () => {
    const before = await keptFolders();
    await copy();
    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'configuration.nix'), '{ }\n');
    copies.push(await privateCopy(ctx, other));
    expect((await keptFolders()).filter((n) => !before.includes(n))).toHaveLength(1);
    await dropKeptCopy();
    expect((await keptFolders()).filter((n) => !before.includes(n))).toHaveLength(0);
  });

  it('at start, removes the kept and private copies of daemons that are gone, and no running daemon’s', async () => {
    const gone = spawnSync('true').pid!;
    const left = [`kept-${gone}-test`, `copy-${gone}-test`].map((n) => join(tmpdir(), `nixos-offline-installer-${n}`));
    const live = [`kept-${process.ppid}-test`, `copy-${process.ppid}-test`].map((n) => join(tmpdir(), `nixos-offline-installer-${n}`));
    for (const folder of [...left, ...live]) await mkdir(join(folder, 'nixos'), { recursive: true });
    try {
      await removeLeftCopies();
      for (const folder of left) expect(await lstat(folder).catch(() => null)).toBeNull();
      for (const folder of live) expect((await lstat(folder)).isDirectory()).toBe(true);
    } finally {
      for (const folder of [...left, ...live]) await rm(folder, { recursive: true, force: true });
    }
  });
});
