// The copy's time left, from what the copy took since 10 % of its bytes:
// before that, Nix's start and the first paths' setup dominate. Fitted on the
// whole copy since then, not the pace of the last seconds: a closure's paths
// come in no order of size, so the last seconds' pace swings from one path to
// the next, and a windowed rate made the estimate swing with it.
//
// A path takes time for its bytes (on the ISO, the medium's pieces it reads:
// copy-progress.ts) and for itself (Nix registers it in the target's database
// and creates its folders). Neither cost is known before the copy (the
// medium's speed, the target's, Nix's), so both are fitted to the copy so far:
// seconds = a * bytes + c * paths, least squares, neither below zero. Where the
// copy so far cannot tell them apart (each second as many bytes as paths), a
// prior of PRIOR_PATH_SECONDS a path splits them. Bytes may arrive in bursts
// (Nix 2.8's are sampled on the target), so the fit runs up to the last
// arrival and a pause since then counts the estimate down instead of
// stretching it (bench/copy-time-left.bench.ts, issue 26 item 6).
const FIRST_FRACTION = 0.1;
// Said once the fit spans this long.
const FIRST_SPAN_MS = 3_000;
// Nothing arrived for this long: stalled, so no estimate.
const STALLED_MS = 10_000;
// The fit takes a point at most this often: a run of small paths brings a report each, which would
// otherwise outweigh the seconds around it.
const FIT_EVERY_MS = 250;
// The prior: what a path takes beyond its bytes, weighed as this many paths' worth of copy (fades as paths arrive).
const PRIOR_PATH_SECONDS = 0.01;
const PRIOR_PATHS = 10;

// What a copy has done or has to do: bytes (on the medium, or NAR bytes) and store paths, a path in flight by its share.
export interface CopyWork {
  bytes: number;
  paths: number;
}

interface Point extends CopyWork {
  at: number;
}

export class TimeLeft {
  private from: Point | null = null;
  private last: Point | null = null;
  private fittedAt = -Infinity;
  // Sums over the arrivals since FROM of products of (seconds, MB, paths) since FROM, for the least squares.
  private readonly sums = { bb: 0, pp: PRIOR_PATHS ** 2, bp: 0, tb: 0, tp: PRIOR_PATH_SECONDS * PRIOR_PATHS ** 2 };

  constructor(
    private readonly bytesTotal: number,
    private readonly total: CopyWork,
    private readonly now: () => number = Date.now,
  ) {}

  // Whole seconds left at BYTES (of the NAR bytes, the progress shown) and DONE, or null while there is no
  // estimate: too early, or stalled.
  at(bytes: number, done: CopyWork): number | null {
    if (this.bytesTotal === 0 || bytes < FIRST_FRACTION * this.bytesTotal) return null;
    const now = this.now();
    this.from ??= { at: now, ...done };
    const from = this.from;
    if (!this.last || done.bytes > this.last.bytes || done.paths > this.last.paths) this.last = { at: now, ...done };
    if (this.last.at === now && now - this.fittedAt >= FIT_EVERY_MS) {
      this.fittedAt = now;
      const t = (now - from.at) / 1000;
      const b = (done.bytes - from.bytes) / 1e6;
      const p = done.paths - from.paths;
      const s = this.sums;
      s.bb += b * b;
      s.pp += p * p;
      s.bp += b * p;
      s.tb += t * b;
      s.tp += t * p;
    }
    const last = this.last;
    if (last.at - from.at < FIRST_SPAN_MS || now - last.at >= STALLED_MS) return null;
    const fit = this.fit();
    if (!fit) return null;
    const left = fit.perMB * (Math.max(0, this.total.bytes - last.bytes) / 1e6) + fit.perPath * Math.max(0, this.total.paths - last.paths);
    return Math.max(0, Math.round(left - (now - last.at) / 1000));
  }

  // Seconds per MB and per path, least squares through the start with neither below zero (the better of the
  // fits with one of them zero, where the free fit makes one negative).
  private fit(): { perMB: number; perPath: number } | null {
    const { bb, pp, bp, tb, tp } = this.sums;
    const det = bb * pp - bp * bp;
    if (det > 1e-9 * bb * pp) {
      const perMB = (tb * pp - tp * bp) / det;
      const perPath = (tp * bb - tb * bp) / det;
      if (perMB >= 0 && perPath >= 0) return { perMB, perPath };
    }
    // Residual of a fit on one variable alone, up to the sum of t squared (the same for both).
    const byBytes = bb > 0 ? { perMB: tb / bb, perPath: 0, fitted: (tb * tb) / bb } : null;
    const byPaths = pp > 0 ? { perMB: 0, perPath: tp / pp, fitted: (tp * tp) / pp } : null;
    const best = [byBytes, byPaths].filter((f) => f !== null).sort((x, y) => y.fitted - x.fitted)[0];
    return best ? { perMB: best.perMB, perPath: best.perPath } : null;
  }
}
