// The copy's time left, from its rate over the last seconds: a medium that
// slows down (or a stretch of small paths) shows in the estimate within a window,
// where the average since the start would take minutes to follow.
// Bytes reach the target in bursts (the squashfs reads ahead megabytes at a
// time), so the rate is taken between the moments bytes arrived, and a pause
// between bursts counts down the estimate instead of stretching it.
const WINDOW_MS = 10_000;
// The rate is measured from this much of the copy on, and said once it spans this long:
// earlier, Nix's own start and the first path's setup dominate it.
const FIRST_FRACTION = 0.1;
const FIRST_SPAN_MS = 5_000;

export class TimeLeft {
  // When the bytes done changed, and to what; oldest first.
  private readonly arrivals: { at: number; bytes: number }[] = [];

  constructor(private readonly bytesTotal: number, private readonly now: () => number = Date.now) {}

  // Whole seconds left at BYTES done, or null while there is no estimate: too early, or nothing arrived for a window.
  at(bytes: number): number | null {
    const now = this.now();
    const last = this.arrivals.at(-1);
    if (bytes >= FIRST_FRACTION * this.bytesTotal && bytes > (last?.bytes ?? 0)) this.arrivals.push({ at: now, bytes });
    // The oldest arrival kept is the last one at least a window old, so the rate spans a whole window.
    while (this.arrivals.length > 2 && now - this.arrivals[1]!.at >= WINDOW_MS) this.arrivals.shift();
    const first = this.arrivals[0];
    const latest = this.arrivals.at(-1);
    if (!first || !latest || this.bytesTotal === 0) return null;
    const span = latest.at - first.at;
    if (span < FIRST_SPAN_MS || now - latest.at >= WINDOW_MS) return null;
    const perMs = (latest.bytes - first.bytes) / span;
    const leftMs = Math.max(0, this.bytesTotal - latest.bytes) / perMs - (now - latest.at);
    return Math.max(0, Math.round(leftMs / 1000));
  }
}
