// Byte-true progress of `nix copy`. Nix's structured log says when each path
// starts and ends (one after another on 2.8, several at once on newer Nix).
// Nix 2.26 and newer also count each path's bytes as it reads them; on 2.8 the
// bytes of the paths in flight come from sampling how much of each is already
// on the target. Counting finished paths alone trails the truth by tens of
// points while one large path is copied.
//
// The time left follows the copy's work, not the bytes shown: where the store
// is the ISO's squashfs, the bytes of the medium's pieces each path reads,
// each piece counted once, with the path that reads it first (what a slow
// stick's read time follows: squashfs-pieces.ts); else NAR bytes; and the
// paths themselves (time-left.ts). Where the medium's device counts its reads,
// the bytes it has served count as done though no path has reported them yet:
// Nix reads ahead of what it reports, by megabytes while it copies a large
// path, and the kernel reads ahead of Nix.
import { basename } from 'node:path';
import type { CopyCounts } from '../common/context.js';
import { narBytes, type StorePathInfo } from '../nix/commands.js';
import type { CopyWork } from './time-left.js';

// Each store path's pieces of the medium (by name): piece key, compressed bytes.
export type MediumPieces = ReadonlyMap<string, ReadonlyMap<string, number>>;

export class CopyProgress {
  private readonly sizes = new Map<string, number>();
  // Each path's pieces, NAR bytes where the medium is not known (one piece of its own).
  private readonly pieces = new Map<string, ReadonlyMap<string, number>>();
  // Pieces read by the paths done (doneWork: their bytes).
  private readonly read = new Set<string>();
  private doneWork = 0;
  readonly workTotal: CopyWork;
  private readonly done = new Set<string>();
  // Paths being copied now, with the bytes of each found on the target so far.
  private readonly inFlight = new Map<string, number>();
  // The work of each path in flight, as it started: its pieces no path done had read.
  private readonly inFlightWork = new Map<string, number>();
  private doneBytes = 0;
  // Bytes the medium's device has served since the copy began.
  private mediumServed = 0;
  // Nix counts the bytes itself: sampling the target is not needed.
  countedByNix = false;
  readonly bytesTotal: number;

  // ON_MEDIUM: the pieces of the live medium each path reads (a path not there, built on the live system, reads none).
  constructor(toCopy: readonly StorePathInfo[], onMedium: MediumPieces | null = null) {
    const all = new Map<string, number>();
    for (const { path, narSize } of toCopy) {
      this.sizes.set(path, narSize);
      const pieces = onMedium ? (onMedium.get(basename(path)) ?? new Map<string, number>()) : new Map([[path, narSize]]);
      this.pieces.set(path, pieces);
      for (const [key, bytes] of pieces) all.set(key, bytes);
    }
    this.bytesTotal = narBytes(toCopy);
    this.workTotal = { bytes: [...all.values()].reduce((a, b) => a + b, 0), paths: toCopy.length };
  }

  get currentPaths(): string[] {
    return [...this.inFlight.keys()];
  }

  // Nix started copying PATH.
  start(path: string): void {
    if (!this.sizes.has(path) || this.done.has(path) || this.inFlight.has(path)) return;
    this.inFlight.set(path, 0);
    this.inFlightWork.set(path, this.unread(path));
  }

  // Nix finished copying PATH.
  finish(path: string): void {
    if (!this.sizes.has(path) || this.done.has(path)) return;
    this.inFlight.delete(path);
    this.inFlightWork.delete(path);
    this.done.add(path);
    this.doneBytes += this.sizes.get(path)!;
    this.doneWork += this.unread(path);
    for (const key of this.pieces.get(path)!.keys()) this.read.add(key);
  }

  // The bytes of PATH's pieces no path done has read.
  private unread(path: string): number {
    let bytes = 0;
    for (const [key, size] of this.pieces.get(path)!) if (!this.read.has(key)) bytes += size;
    return bytes;
  }

  // The medium's device has served BYTES since the copy began.
  served(bytes: number): void {
    this.mediumServed = Math.max(this.mediumServed, bytes);
  }

  // Nix's own count of a path's bytes copied so far.
  copied(path: string, bytes: number): void {
    this.countedByNix = true;
    this.sample(path, bytes);
  }

  // Bytes of a path being copied found on the target. Never more than its size:
  // the NAR is slightly larger than the files, and a path is done only when Nix says so.
  sample(path: string, bytes: number): void {
    const before = this.inFlight.get(path);
    if (before === undefined) return;
    const size = this.sizes.get(path) ?? 0;
    this.inFlight.set(path, Math.max(before, Math.min(bytes, Math.max(size - 1, 0))));
  }

  // nix copy exited successfully: everything is there.
  finishAll(): void {
    for (const path of this.sizes.keys()) this.finish(path);
  }

  counts(): CopyCounts {
    return {
      bytesDone: this.bytesDone(),
      bytesTotal: this.bytesTotal,
      pathsDone: this.done.size,
      pathsTotal: this.sizes.size,
    };
  }

  fraction(): number {
    return this.bytesTotal === 0 ? 1 : this.bytesDone() / this.bytesTotal;
  }

  // The work done: a path in flight counts by the share of its bytes done.
  work(): CopyWork {
    const work = { bytes: this.doneWork, paths: this.done.size };
    for (const [path, sampled] of this.inFlight) {
      const size = this.sizes.get(path)!;
      const share = size > 0 ? sampled / size : 0;
      work.bytes += this.inFlightWork.get(path)! * share;
      work.paths += share;
    }
    // Never past the whole: other readers of the medium (the live desktop) and the kernel's read-ahead count too.
    work.bytes = Math.max(work.bytes, Math.min(this.mediumServed, this.workTotal.bytes));
    return work;
  }

  private bytesDone(): number {
    let bytes = this.doneBytes;
    for (const sampled of this.inFlight.values()) bytes += sampled;
    return bytes;
  }
}
