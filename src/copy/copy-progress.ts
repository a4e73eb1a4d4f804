// Byte-true progress of `nix copy`. Nix 2.8 copies paths one after another and
// prints "copying path 'P' to '...'" when P starts, so a line tells that every
// earlier path is complete; the bytes of P itself come from sampling how much
// of it is already on the target. Counting lines alone trails the truth by tens
// of points while one large path is copied.
import type { CopyCounts } from '../job/context.js';
import type { StorePathInfo } from './closure.js';

export const COPYING_PATH = /^copying path '([^']+)'/;

export class CopyProgress {
  private readonly sizes = new Map<string, number>();
  private readonly done = new Set<string>();
  private current: string | null = null;
  private currentBytes = 0;
  private doneBytes = 0;
  readonly bytesTotal: number;

  constructor(toCopy: readonly StorePathInfo[]) {
    for (const { path, narSize } of toCopy) this.sizes.set(path, narSize);
    this.bytesTotal = toCopy.reduce((sum, p) => sum + p.narSize, 0);
  }

  get currentPath(): string | null {
    return this.current;
  }

  // A "copying path" line: the previous path is complete, this one begins.
  start(path: string): void {
    this.finishCurrent();
    if (!this.sizes.has(path) || this.done.has(path)) return;
    this.current = path;
    this.currentBytes = 0;
  }

  // Bytes of the current path found on the target. Never more than its size:
  // the NAR is slightly larger than the files, and a path is done only when Nix says so.
  sample(path: string, bytes: number): void {
    if (path !== this.current) return;
    const size = this.sizes.get(path) ?? 0;
    this.currentBytes = Math.max(this.currentBytes, Math.min(bytes, Math.max(size - 1, 0)));
  }

  // nix copy exited successfully: everything is there.
  finishAll(): void {
    this.finishCurrent();
    for (const [path, size] of this.sizes) {
      if (!this.done.has(path)) {
        this.done.add(path);
        this.doneBytes += size;
      }
    }
  }

  counts(): CopyCounts {
    return {
      bytesDone: this.doneBytes + this.currentBytes,
      bytesTotal: this.bytesTotal,
      pathsDone: this.done.size,
      pathsTotal: this.sizes.size,
    };
  }

  fraction(): number {
    return this.bytesTotal === 0 ? 1 : (this.doneBytes + this.currentBytes) / this.bytesTotal;
  }

  private finishCurrent(): void {
    if (this.current === null) return;
    this.done.add(this.current);
    this.doneBytes += this.sizes.get(this.current) ?? 0;
    this.current = null;
    this.currentBytes = 0;
  }
}
