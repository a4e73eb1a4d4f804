// An install log file that stops growing: on an ISO /var/log is in RAM. The
// first HEAD characters are written as they come (what was installed, from
// where, the first errors); after that only the last TAIL characters are kept,
// and written at the next flush behind one line that says how much was left
// out (the end holds the failure). The journal keeps every line regardless.

export const LOG_HEAD_CHARS = 24 * 1024 * 1024;
export const LOG_TAIL_CHARS = 8 * 1024 * 1024;

export interface LineWriter {
  write(text: string): boolean;
  flushSync(): void;
}

export class CappedLog implements LineWriter {
  private written = 0;
  private tail: string[] = [];
  private tailChars = 0;
  private droppedLines = 0;
  private droppedChars = 0;

  constructor(
    private readonly writer: LineWriter,
    private readonly installId: string,
    private readonly head = LOG_HEAD_CHARS,
    private readonly keep = LOG_TAIL_CHARS,
  ) {}

  write(line: string): boolean {
    if (this.written + line.length <= this.head) {
      this.written += line.length;
      return this.writer.write(line);
    }
    this.written = this.head;
    this.tail.push(line);
    this.tailChars += line.length;
    while (this.tailChars > this.keep && this.tail.length > 1) {
      const dropped = this.tail.shift()!;
      this.tailChars -= dropped.length;
      this.droppedLines++;
      this.droppedChars += dropped.length;
    }
    return true;
  }

  flushSync(): void {
    if (this.droppedLines > 0) {
      const msg = `${this.droppedLines} log lines (${this.droppedChars} characters) are left out here: an install log keeps its first ${this.head} and its last ${this.keep} characters; the journal has them all`;
      this.writer.write(`${JSON.stringify({ level: 40, time: Date.now(), name: 'nixos-offline-installer', installId: this.installId, source: 'daemon', msg })}\n`);
      this.droppedLines = 0;
      this.droppedChars = 0;
    }
    for (const line of this.tail) this.writer.write(line);
    this.tail = [];
    this.tailChars = 0;
    this.writer.flushSync();
  }
}

// Keeps the newest install logs of a folder (their names start with the time), so a stream of installs cannot fill it
// either: KEEP.touched of installs that wrote to a target or disk, KEEP.untouched of the others (refused before
// anything was written), so refused attempts never push out the log of a real install.
export function pruneInstallLogs(keep: { touched: number; untouched: number }, list: () => string[], remove: (name: string) => void, touched: (name: string) => boolean): void {
  const logs = list().filter((name) => /^install-\d{8}-\d{6}-[0-9a-f]+\.log$/.test(name)).sort();
  const [real, refused] = [logs.filter(touched), logs.filter((name) => !touched(name))];
  for (const name of real.slice(0, Math.max(0, real.length - keep.touched))) remove(name);
  for (const name of refused.slice(0, Math.max(0, refused.length - keep.untouched))) remove(name);
}
