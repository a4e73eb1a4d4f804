// The pieces of the medium each top-level entry reads (src/fs/squashfs-pieces.ts),
// from images mksquashfs made as the ISO's are made: random data reads its
// size, text a fraction of it, a duplicate the same piece as its original,
// small files the fragment block they share, and all the pieces together are
// the image's data.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, rm, truncate, appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { squashfsPieces } from '../../src/fs/squashfs-pieces.js';
import { scratch } from '../helpers/env.js';

const MB = 1 << 20;
let dir: string;
let tree: string;

beforeAll(async () => {
  dir = await scratch('squashfs-costs');
  tree = join(dir, 'tree');
  await mkdir(join(tree, 'a-random/lib'), { recursive: true });
  await writeFile(join(tree, 'a-random/lib/big'), randomBytes(4 * MB));
  for (let i = 0; i < 20; i++) await writeFile(join(tree, `a-random/small-${i}`), randomBytes(3000));
  await mkdir(join(tree, 'b-duplicate'));
  await copyFile(join(tree, 'a-random/lib/big'), join(tree, 'b-duplicate/big'));
  await mkdir(join(tree, 'c-text/share/doc'), { recursive: true });
  await writeFile(join(tree, 'c-text/share/doc/README'), 'The quick brown fox jumps over the lazy dog.\n'.repeat((4 * MB) / 45));
  // More entries than one metadata block lists: an extended folder inode, with an index.
  await mkdir(join(tree, 'd-tiny'));
  for (let i = 0; i < 300; i++) await writeFile(join(tree, `d-tiny/f${i}`), randomBytes(1024));
  // A store path may be one file.
  await writeFile(join(tree, 'e-file'), randomBytes(2 * MB));
  // Sparse: an extended file inode whose zero blocks take no bytes.
  await mkdir(join(tree, 'f-sparse'));
  await truncate(join(tree, 'f-sparse/holes'), 3 * MB).catch(async () => {
    await writeFile(join(tree, 'f-sparse/holes'), '');
    await truncate(join(tree, 'f-sparse/holes'), 3 * MB);
  });
  await appendFile(join(tree, 'f-sparse/holes'), randomBytes(100_000));
  await mkdir(join(tree, 'g-empty'));
  await mkdir(join(tree, 'h-many'));
  for (let i = 0; i < 5; i++) await writeFile(join(tree, `h-many/f${i}`), randomBytes(1.5 * MB));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// An image of the tree's entries, with make-squashfs.nix's flags.
function image(name: string, ...comp: string[]): string {
  const out = join(dir, `${name}.squashfs`);
  const entries = ['a-random', 'b-duplicate', 'c-text', 'd-tiny', 'e-file', 'f-sparse', 'g-empty', 'h-many'].map((e) => join(tree, e));
  execFileSync('mksquashfs', [...entries, out, '-noappend', '-no-hardlinks', '-keep-as-directory', '-all-root', '-b', '1048576', '-comp', ...comp, '-processors', '2', '-quiet', '-no-progress'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

// Where the image's data ends and its tables begin (the superblock's inode_table_start).
const dataEnd = (path: string) => Number(readFileSync(path).readBigUInt64LE(64));

describe.each([
  ['zstd', ['zstd', '-Xcompression-level', '19']],
  ['gzip', ['gzip']],
])('a %s image', (name, comp) => {
  it('gives each entry the pieces it reads', async () => {
    const path = image(name, ...comp);
    const pieces = (await squashfsPieces(path))!;
    expect([...pieces.keys()]).toEqual(['a-random', 'b-duplicate', 'c-text', 'd-tiny', 'e-file', 'f-sparse', 'g-empty', 'h-many']);
    const of = (entry: string) => [...pieces.get(entry)!];
    const data = (entry: string) => of(entry).filter(([key]) => !key.startsWith('fragment '));
    const fragments = (entry: string) => of(entry).filter(([key]) => key.startsWith('fragment '));
    expect(data('a-random')).toHaveLength(1);
    expect(data('a-random')[0]![1]).toBeGreaterThanOrEqual(4 * MB);
    expect(data('a-random')[0]![1]).toBeLessThan(4 * MB + 1000);
    // The copy is stored once: the same piece.
    expect(of('b-duplicate')).toEqual(data('a-random'));
    expect(data('c-text')[0]![1]).toBeLessThan(MB / 10);
    // 300 files of 1 KB: tails only, packed in the fragment block a-random's small files are in.
    expect(data('d-tiny')).toEqual([]);
    expect(fragments('d-tiny')[0]![1]).toBeGreaterThan(300 * 1024);
    expect(fragments('a-random').map(([key]) => key)).toEqual(fragments('d-tiny').map(([key]) => key));
    expect(data('e-file')).toEqual([[expect.any(String), 2 * MB]]);
    // Sparse: the three zero blocks read nothing, the 100 000 random bytes after them their size.
    expect(data('f-sparse')).toEqual([[expect.any(String), expect.any(Number)]]);
    expect(data('f-sparse')[0]![1]).toBeGreaterThanOrEqual(100_000);
    expect(data('f-sparse')[0]![1]).toBeLessThan(101_000);
    expect(of('g-empty')).toEqual([]);
    // Data blocks no other entry reads are one piece of the entry's own, however many files they are in.
    expect(data('h-many')).toEqual([['entry h-many', expect.any(Number)]]);
    expect(data('h-many')[0]![1]).toBeGreaterThanOrEqual(5 * MB);
    // Every data byte is some piece's (the superblock and compressor options aside).
    const all = new Map([...pieces.values()].flatMap((p) => [...p]));
    const sum = [...all.values()].reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(dataEnd(path) - 96);
    expect(sum).toBeGreaterThan(dataEnd(path) - 96 - 64);
  });
});

it('gives no pieces for an image it cannot read the tables of (xz), or for no squashfs', async () => {
  expect(await squashfsPieces(image('xz', 'xz'))).toBeNull();
  await writeFile(join(dir, 'not-an-image'), randomBytes(4096));
  expect(await squashfsPieces(join(dir, 'not-an-image'))).toBeNull();
});

it('stops at a folder listed inside itself (a damaged or crafted image) instead of walking it for ever', async () => {
  // An image whose tables mksquashfs leaves uncompressed (-noI), so the listing can be edited in place:
  // cyc-outer/cyc-inner made to point at cyc-outer's own inode.
  const cyc = join(dir, 'cyclic');
  await mkdir(join(cyc, 'cyc-outer/cyc-inner'), { recursive: true });
  await writeFile(join(cyc, 'cyc-outer/cyc-inner/file'), randomBytes(5000));
  const out = join(dir, 'cyclic.squashfs');
  execFileSync('mksquashfs', [join(cyc, 'cyc-outer'), out, '-noappend', '-keep-as-directory', '-all-root', '-comp', 'gzip', '-noI', '-quiet', '-no-progress'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bytes = readFileSync(out);
  const directoryTable = Number(bytes.readBigUInt64LE(72));
  // An entry: offset u16, inode offset s16, type u16, name size - 1 u16, the name; after its listing's header:
  // count - 1 u32, the inode block u32, the first inode number u32. Each folder here lists one entry.
  const entry = (name: string) => {
    const at = bytes.indexOf(Buffer.from(name), directoryTable) - 8;
    expect(at).toBeGreaterThan(directoryTable);
    expect(bytes.readUInt16LE(at + 6) + 1).toBe(name.length);
    return { at, header: at - 12 };
  };
  const outer = entry('cyc-outer');
  const inner = entry('cyc-inner');
  bytes.writeUInt32LE(bytes.readUInt32LE(outer.header + 4), inner.header + 4);
  bytes.writeUInt16LE(bytes.readUInt16LE(outer.at), inner.at);
  const cyclic = join(dir, 'cyclic-edited.squashfs');
  await writeFile(cyclic, bytes);
  await expect(squashfsPieces(cyclic)).rejects.toThrow('more entries than the image has inodes');
  // Unedited, it reads.
  expect([...(await squashfsPieces(out))!.keys()]).toEqual(['cyc-outer']);
});
