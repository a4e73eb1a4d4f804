// The copy's time left, fitted to the whole copy so far, not the pace of the
// last seconds: a closure's paths come in no order of size, so the last
// seconds' pace swings from one path to the next, and a windowed rate made
// the estimate swing with it. Said from 10 % of the bytes on.
//
// Where the bytes are what the medium's device served (device-reads.ts), the
// copy waits on the medium from its first second, and its time is fitted to
// those bytes alone, since the copy began: seconds = start + a * bytes (Nix's
// start reads nothing). Nix's work on each path is done while the next bytes
// are read (several paths at once on Nix 2.26 and newer): fitted a cost of
// its own, it took a stretch of many small paths read at a slower pace for
// theirs and said half the rest; fitted from 10 % only, the first estimates
// followed such a stretch (bench/copy-time-left.bench.ts: on Nix 2.34, 42 %
// and 29 % off; within 13 % so).
//
// Elsewhere (NAR bytes: no device counts the reads, or a fleet's copy over the
// network) a path takes time for its bytes and for itself (Nix registers it
// in the target's database and creates its folders), neither known before
// the copy, so both are fitted since 10 % of the bytes (before that, Nix's
// start and the first paths' setup dominate): seconds = a * bytes + c *
// paths, least squares, neither below zero. Where the copy so far cannot tell
// them apart (each second as many bytes as paths), a prior of
// PRIOR_PATH_SECONDS a path splits them.
//
// Bytes may arrive in bursts (Nix 2.8's are sampled on the target), so both
// fits run up to the last arrival and a pause since then counts the estimate
// down instead of stretching it (issue 26 item 6).
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
  private readonly now: () => number;
  private readonly costPerPath: boolean;
  // The last arrival of work.
  private last: Point | null = null;
  private fittedAt = -Infinity;
  // Where the fit of a cost per path begins: 10 % of the bytes.
  private from: Point | null = null;
  // Sums over the arrivals since FROM of products of (seconds, MB, paths) since FROM, for the least squares.
  private readonly sums = { bb: 0, pp: PRIOR_PATHS ** 2, bp: 0, tb: 0, tp: PRIOR_PATH_SECONDS * PRIOR_PATHS ** 2 };
  // The fit of the medium's bytes alone: the first arrival, and sums of (seconds, MB) since it.
  private first: Point | null = null;
  private readonly line = { n: 0, b: 0, t: 0, bb: 0, bt: 0 };

  // COST_PER_PATH: whether a path takes time beyond its bytes (not where the bytes are the medium's reads).
  constructor(
    private readonly bytesTotal: number,
    private readonly total: CopyWork,
    { now = Date.now, costPerPath = true }: { now?: () => number; costPerPath?: boolean } = {},
  ) {
    this.now = now;
    this.costPerPath = costPerPath;
  }

  // Whole seconds left at BYTES (of the NAR bytes, the progress shown) and DONE, or null while there is no
  // estimate: too early, or stalled.
  at(bytes: number, done: CopyWork): number | null {
    if (this.bytesTotal === 0) return null;
    const now = this.now();
    if (!this.last || done.bytes > this.last.bytes || done.paths > this.last.paths) this.last = { at: now, ...done };
    const arrived = this.last.at === now && now - this.fittedAt >= FIT_EVERY_MS;
    const past = bytes >= FIRST_FRACTION * this.bytesTotal;
    if (past) this.from ??= { at: now, ...done };
    if (arrived && (!this.costPerPath || past)) {
      this.fittedAt = now;
      if (this.costPerPath) this.addSincePast(now, done);
      else this.addToLine(now, done);
    }
    const last = this.last;
    if (!past || last.at - this.from!.at < FIRST_SPAN_MS || now - last.at >= STALLED_MS) return null;
    const fit = this.costPerPath ? this.fit() : this.lineFit();
    if (!fit) return null;
    const left = fit.perMB * (Math.max(0, this.total.bytes - last.bytes) / 1e6) + fit.perPath * Math.max(0, this.total.paths - last.paths);
    return Math.max(0, Math.round(left - (now - last.at) / 1000));
  }

  private addSincePast(now: number, done: CopyWork): void {
    const from = this.from!;
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

  private addToLine(now: number, done: CopyWork): void {
    this.first ??= { at: now, ...done };
    const t = (now - this.first.at) / 1000;
    const b = (done.bytes - this.first.bytes) / 1e6;
    const l = this.line;
    l.n += 1;
    l.b += b;
    l.t += t;
    l.bb += b * b;
    l.bt += b * t;
  }

  // Seconds per MB of the medium: the slope of a least-squares line through the arrivals since the first.
  private lineFit(): { perMB: number; perPath: number } | null {
    const { n, b, t, bb, bt } = this.line;
    const spread = n * bb - b * b;
    const perMB = spread > 0 ? (n * bt - b * t) / spread : 0;
    return perMB > 0 ? { perMB, perPath: 0 } : null;
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
