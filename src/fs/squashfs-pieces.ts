// What reading each top-level entry of a squashfs image (on the ISO: each store
// path) reads from the medium: the compressed bytes of its files' data blocks
// and of the fragment blocks its files' tails are packed in. That, not a path's
// NAR size, is what a slow medium's read time follows (documentation
// compresses 5:1, a library 2:1, and small files of many paths share a
// fragment block, read once). Read from the image's own tables, as the kernel
// reads them (squashfs 4.0, the kernel's Documentation/filesystems/squashfs.rst);
// only zstd and gzip images, the compressors Node reads: for others, null.
import { open } from 'node:fs/promises';
import { inflateSync, zstdDecompressSync } from 'node:zlib';

const MAGIC = 0x73717368;
const DECOMPRESS: Record<number, (data: Buffer) => Buffer> = { 1: (d) => inflateSync(d), 6: (d) => zstdDecompressSync(d) };
const METADATA_SIZE = 8192;
// The tables of a store of a million files are tens of MB; beyond this the image is not read.
const MAX_TABLES_BYTES = 128 << 20;
const NO_FRAGMENT = 0xffffffff;
const UNCOMPRESSED_BLOCK = 1 << 24;
const MAX_DEPTH = 256;

interface Superblock {
  inodes: number;
  blockSize: number;
  fragments: number;
  compression: number;
  rootInode: bigint;
  inodeTable: number;
  directoryTable: number;
  fragmentTable: number;
  end: number;
}

function superblock(b: Buffer): Superblock | null {
  if (b.length < 96 || b.readUInt32LE(0) !== MAGIC || b.readUInt16LE(28) !== 4) return null;
  const at = (offset: number) => Number(b.readBigUInt64LE(offset));
  return {
    inodes: b.readUInt32LE(4),
    blockSize: b.readUInt32LE(12),
    fragments: b.readUInt32LE(16),
    compression: b.readUInt16LE(20),
    rootInode: b.readBigUInt64LE(32),
    inodeTable: at(64),
    directoryTable: at(72),
    fragmentTable: at(80),
    end: at(40),
  };
}

// The image's metadata (inodes, directories, fragment entries): 8 KiB blocks,
// each behind a 2-byte header (size, bit 15: stored uncompressed), found by their
// offset in the image; a read may run on into the next block.
class Metadata {
  private readonly blocks = new Map<number, { data: Buffer; next: number }>();

  constructor(
    private readonly image: Buffer,
    private readonly base: number,
    private readonly decompress: (data: Buffer) => Buffer,
  ) {}

  private block(at: number): { data: Buffer; next: number } {
    let block = this.blocks.get(at);
    if (block) return block;
    const start = at - this.base;
    if (start < 0 || start + 2 > this.image.length) throw new Error(`metadata block at ${at} is outside the image`);
    const header = this.image.readUInt16LE(start);
    const size = header & 0x7fff;
    const raw = this.image.subarray(start + 2, start + 2 + size);
    const data = header & 0x8000 ? raw : this.decompress(raw);
    if (data.length > METADATA_SIZE) throw new Error(`metadata block at ${at} is larger than 8 KiB`);
    block = { data, next: at + 2 + size };
    this.blocks.set(at, block);
    return block;
  }

  // LENGTH bytes from OFFSET in the block at AT, and where the next read starts.
  read(at: number, offset: number, length: number): { bytes: Buffer; at: number; offset: number } {
    const parts: Buffer[] = [];
    let left = length;
    while (left > 0) {
      const { data, next } = this.block(at);
      if (offset >= data.length) {
        if (data.length === 0) throw new Error(`empty metadata block at ${at}`);
        offset -= data.length;
        at = next;
        continue;
      }
      const part = data.subarray(offset, offset + left);
      parts.push(part);
      left -= part.length;
      offset += part.length;
    }
    return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts), at, offset };
  }
}

interface Found {
  runs: Map<number, number>;
  fragments: Set<number>;
}

class Reader {
  // The inode, directory and fragment tables, read as one: their blocks are found by offset in the image.
  private readonly tables: Metadata;
  private visits = 0;

  constructor(
    private readonly image: Buffer,
    private readonly sb: Superblock,
    decompress: (data: Buffer) => Buffer,
  ) {
    this.tables = new Metadata(image, sb.inodeTable, decompress);
  }

  private inode(ref: bigint) {
    const at = this.sb.inodeTable + Number(ref >> 16n);
    const offset = Number(ref & 0xffffn);
    const head = this.tables.read(at, offset, 16);
    const type = head.bytes.readUInt16LE(0);
    const more = (length: number) => this.tables.read(head.at, head.offset, length);
    return { type, more };
  }

  // Adds what the entry at REF reads to FOUND. A file's data blocks are one run, by where they start (a
  // duplicate file's are the same blocks: mksquashfs stores them once); a file's tail is read with the whole
  // fragment block it is packed in, which the kernel then caches for the next tails.
  walk(ref: bigint, found: Found, depth = 0): void {
    if (depth > MAX_DEPTH) throw new Error('folders nested too deep');
    // Each inode is reached once (the ISO's image has no hard links): more visits are a folder listed in itself.
    if (++this.visits > this.sb.inodes) throw new Error('more entries than the image has inodes');
    const { type, more } = this.inode(ref);
    if (type === 2 || type === 9) {
      const fixed = type === 2 ? 16 : 40;
      const head = more(fixed).bytes;
      const start = type === 2 ? head.readUInt32LE(0) : Number(head.readBigUInt64LE(0));
      const size = type === 2 ? head.readUInt32LE(12) : Number(head.readBigUInt64LE(8));
      const fragment = head.readUInt32LE(type === 2 ? 4 : 28);
      const count = fragment === NO_FRAGMENT ? Math.ceil(size / this.sb.blockSize) : Math.floor(size / this.sb.blockSize);
      if (count > 0) {
        const sizes = more(fixed + 4 * count).bytes.subarray(fixed);
        let bytes = 0;
        for (let i = 0; i < count; i++) bytes += sizes.readUInt32LE(4 * i) & (UNCOMPRESSED_BLOCK - 1);
        // Blocks all zero (sparse) read nothing and share the next file's start.
        if (bytes > 0) found.runs.set(start, bytes);
      }
      if (fragment !== NO_FRAGMENT) found.fragments.add(fragment);
    } else if (type === 1 || type === 8) {
      for (const child of this.children(type, more)) this.walk(child.ref, found, depth + 1);
    }
  }

  // The entries of the folder whose inode this is, by name, with their inode references.
  children(type: number, more: (length: number) => { bytes: Buffer }): { name: string; ref: bigint }[] {
    const b = more(type === 1 ? 16 : 24).bytes;
    const [block, size, offset] = type === 1 ? [b.readUInt32LE(0), b.readUInt16LE(8), b.readUInt16LE(10)] : [b.readUInt32LE(8), b.readUInt32LE(4), b.readUInt16LE(18)];
    if (size <= 3) return [];
    const listing = this.tables.read(this.sb.directoryTable + block, offset, size - 3).bytes;
    const entries: { name: string; ref: bigint }[] = [];
    let at = 0;
    while (at + 12 <= listing.length) {
      const count = listing.readUInt32LE(at) + 1;
      const inodeBlock = BigInt(listing.readUInt32LE(at + 4));
      at += 12;
      for (let i = 0; i < count && at + 8 <= listing.length; i++) {
        const entryOffset = listing.readUInt16LE(at);
        const nameSize = listing.readUInt16LE(at + 6) + 1;
        entries.push({ name: listing.toString('latin1', at + 8, at + 8 + nameSize), ref: (inodeBlock << 16n) | BigInt(entryOffset) });
        at += 8 + nameSize;
      }
    }
    return entries;
  }

  root(): { name: string; ref: bigint }[] {
    const { type, more } = this.inode(this.sb.rootInode);
    if (type !== 1 && type !== 8) throw new Error('the root is no folder');
    return this.children(type, more);
  }

  // Compressed size on the medium of each fragment block.
  fragmentSizes(): number[] {
    const sizes: number[] = [];
    const tables = Math.ceil(this.sb.fragments / (METADATA_SIZE / 16));
    for (let t = 0; t < tables; t++) {
      const at = Number(this.image.readBigUInt64LE(this.sb.fragmentTable - this.sb.inodeTable + 8 * t));
      const inBlock = Math.min(METADATA_SIZE / 16, this.sb.fragments - t * (METADATA_SIZE / 16));
      const block = this.tables.read(at, 0, 16 * inBlock).bytes;
      for (let i = 0; i < inBlock; i++) sizes.push(block.readUInt32LE(16 * i + 8) & (UNCOMPRESSED_BLOCK - 1));
    }
    return sizes;
  }
}

// What reading each top-level entry of the squashfs image IMAGE (a file or a
// block device) reads from it: its pieces, by a key two entries share when
// they share the piece, with its compressed bytes: a whole fragment block; a
// run of data blocks another entry reads too; the rest of its data blocks as
// one piece of its own (so a store path of 10 000 files is a few pieces, not
// 10 000). Null when it is no squashfs this can read.
export async function squashfsPieces(image: string): Promise<Map<string, Map<string, number>> | null> {
  const file = await open(image, 'r');
  try {
    const head = Buffer.alloc(96);
    await file.read(head, 0, 96, 0);
    const sb = superblock(head);
    const decompress = sb && DECOMPRESS[sb.compression];
    if (!sb || !decompress) return null;
    const length = sb.end - sb.inodeTable;
    if (length <= 0 || length > MAX_TABLES_BYTES) throw new Error(`tables of ${length} bytes`);
    const tables = Buffer.alloc(length);
    const { bytesRead } = await file.read(tables, 0, length, sb.inodeTable);
    if (bytesRead !== length) throw new Error('the image ends before its tables');
    const reader = new Reader(tables, sb, decompress);
    const fragmentSizes = sb.fragments > 0 ? reader.fragmentSizes() : [];
    const entries = reader.root().map(({ name, ref }) => {
      const found: Found = { runs: new Map(), fragments: new Set() };
      reader.walk(ref, found);
      return { name, found };
    });
    const readers = new Map<number, number>();
    for (const { found } of entries) for (const start of found.runs.keys()) readers.set(start, (readers.get(start) ?? 0) + 1);
    const pieces = new Map<string, Map<string, number>>();
    for (const { name, found } of entries) {
      const own = new Map<string, number>();
      let alone = 0;
      for (const [start, bytes] of found.runs) {
        if (readers.get(start)! > 1) own.set(`run ${start}`, bytes);
        else alone += bytes;
      }
      if (alone > 0) own.set(`entry ${name}`, alone);
      for (const fragment of found.fragments) own.set(`fragment ${fragment}`, fragmentSizes[fragment] ?? 0);
      pieces.set(name, own);
    }
    return pieces;
  } finally {
    await file.close();
  }
}
