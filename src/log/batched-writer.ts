// A pino destination that gathers lines for a few milliseconds and writes them
// with one synchronous write. A build printing 50 000 lines then
// costs a few hundred writes; sonic-boom measured the byte length of its whole
// pending buffer on every line, which was most of the daemon's time.
// Synchronous, so order is kept and flushSync() is exact; a crash loses at most
// the last FLUSH_MS of lines.
import { writeSync } from 'node:fs';

// Written at once when this much waits, without waiting for the turn to end.
const CHUNK_CHARS = 64 * 1024;
// Otherwise at most this long after the first waiting line (a chunk per event-loop turn cost more when a fast reader saw a line per turn).
const FLUSH_MS = 20;
// A non-blocking fd (a pipe someone else set so) that stays full this long drops the chunk.
const EAGAIN_GIVE_UP_MS = 1000;

export class BatchedWriter {
  private chunks: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | null = null;
  private failed: Error | null = null;

  constructor(
    private readonly fd: number,
    // Told once when writing stops working (a full disk); later lines are dropped.
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  write(text: string): boolean {
    if (this.failed) return true;
    this.chunks.push(text);
    this.chars += text.length;
    if (this.chars >= CHUNK_CHARS) this.flushSync();
    else this.timer ??= setTimeout(() => this.flushSync(), FLUSH_MS);
    return true;
  }

  flushSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.chunks.length === 0 || this.failed) return;
    let buffer = Buffer.from(this.chunks.join(''));
    this.chunks = [];
    this.chars = 0;
    const started = Date.now();
    while (buffer.length > 0) {
      try {
        buffer = buffer.subarray(writeSync(this.fd, buffer));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EBUSY') {
          if (Date.now() - started > EAGAIN_GIVE_UP_MS) return;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          continue;
        }
        this.failed = error as Error;
        this.onError(this.failed);
        return;
      }
    }
  }
}
