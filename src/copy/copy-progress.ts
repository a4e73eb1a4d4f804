// Byte-true progress of `nix copy`. Nix's structured log says when each path
// starts and ends (one after another on 2.8, several at once on newer Nix).
// Nix 2.26 and newer also count each path's bytes as it reads them; on 2.8 the
// bytes of the paths in flight come from sampling how much of each is already
// on the target. Counting finished paths alone trails the truth by tens of
// points while one large path is copied.
import type { CopyCounts } from '../common/context.js';
import { narBytes, type StorePathInfo } from '../nix/commands.js';

export class CopyProgress {
  private readonly sizes = new Map<string, number>();
  private readonly done = new Set<string>();
  // Paths being copied now, with the bytes of each found on the target so far.
  private readonly inFlight = new Map<string, number>();
  private doneBytes = 0;
  // Nix counts the bytes itself: sampling the target is not needed.
  countedByNix = false;
  readonly bytesTotal: number;

  constructor(toCopy: readonly StorePathInfo[]) {
    for (const { path, narSize } of toCopy) this.sizes.set(path, narSize);
    this.bytesTotal = narBytes(toCopy);
  }

  get currentPaths(): string[] {
    return [...this.inFlight.keys()];
  }

  // Nix started copying PATH.
  start(path: string): void {
    if (!this.sizes.has(path) || this.done.has(path) || this.inFlight.has(path)) return;
    this.inFlight.set(path, 0);
  }

  // Nix finished copying PATH.
  finish(path: string): void {
    if (!this.sizes.has(path) || this.done.has(path)) return;
    this.inFlight.delete(path);
    this.done.add(path);
    this.doneBytes += this.sizes.get(path)!;
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

  private bytesDone(): number {
    let bytes = this.doneBytes;
    for (const sampled of this.inFlight.values()) bytes += sampled;
    return bytes;
  }
}
