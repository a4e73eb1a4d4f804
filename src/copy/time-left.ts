// The copy's time left, from its average pace since 10 % of the bytes: before
// that, Nix's start and the first paths' setup dominate. The average, not the
// pace of the last seconds: a closure's paths are copied in no order of size,
// so the last seconds' pace swings from one path to the next (a large library
// after a run of small documentation paths), and a windowed rate made the
// estimate swing with it (bench/copy-time-left.bench.ts, issue 26 item 6).
// Each store path costs time beyond its bytes (Nix registers it in the
// target's database, creates its files), so the work is counted as bytes plus
// PATH_BYTES per path. Bytes may arrive in bursts (Nix 2.8's are sampled on
// the target), so the pace is taken up to the last arrival and a pause since
// then counts the estimate down instead of stretching it.
const FIRST_FRACTION = 0.1;
// Said once the pace spans this long.
const FIRST_SPAN_MS = 3_000;
// Measured on the medium benchmark's closure: with 1 MB per path the estimate erred least (see README).
const PATH_BYTES = 1_000_000;
// Nothing arrived for this long: stalled, so no estimate.
const STALLED_MS = 10_000;

export class TimeLeft {
  private from: { at: number; work: number } | null = null;
  private last: { at: number; work: number } | null = null;

  constructor(
    private readonly bytesTotal: number,
    private readonly pathsTotal: number,
    private readonly now: () => number = Date.now,
  ) {}

  // Whole seconds left at BYTES and PATHS done, or null while there is no estimate: too early, or stalled.
  at(bytes: number, paths: number): number | null {
    if (this.bytesTotal === 0 || bytes < FIRST_FRACTION * this.bytesTotal) return null;
    const now = this.now();
    const work = bytes + PATH_BYTES * paths;
    this.from ??= { at: now, work };
    if (!this.last || work > this.last.work) this.last = { at: now, work };
    const { from, last } = this;
    const span = last.at - from.at;
    if (span < FIRST_SPAN_MS || now - last.at >= STALLED_MS || last.work <= from.work) return null;
    const msPerWork = span / (last.work - from.work);
    const left = Math.max(0, this.bytesTotal + PATH_BYTES * this.pathsTotal - last.work);
    return Math.max(0, Math.round((left * msPerWork - (now - last.at)) / 1000));
  }
}
