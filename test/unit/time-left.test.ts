import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeLeft } from '../../src/copy/time-left.js';
import { progressBar } from '../../src/cli/render.js';

// A copy of TOTAL bytes in PATHS paths at RATE bytes/s on a synthetic clock, sampled every 100 ms as
// copy-closure does; with BURST_MS, what was read reaches the target only every so often.
function copy(total: number, rateAt: (second: number) => number, startDelayMs = 0, burstMs = 100, paths = 100) {
  let clock = 0;
  const timeLeft = new TimeLeft(total, paths, () => clock);
  const shown: { at: number; bytes: number; left: number | null }[] = [];
  const pathsAt = (bytes: number) => Math.floor((bytes / total) * paths);
  let read = 0;
  let bytes = 0;
  for (; clock < startDelayMs; clock += 100) shown.push({ at: clock, bytes, left: timeLeft.at(bytes, 0) });
  while (bytes < total) {
    clock += 100;
    read = Math.min(total, read + (rateAt(clock / 1000) * 100) / 1000);
    if ((clock - startDelayMs) % burstMs === 0 || read === total) bytes = read;
    shown.push({ at: clock, bytes, left: timeLeft.at(bytes, pathsAt(bytes)) });
  }
  return { shown, end: clock };
}

// Real copies recorded by bench/copy-time-left.bench.ts (the medium benchmark's closure of 290 paths
// from a store laid out as the ISO's), thinned to a report per 100 ms: [ms, bytes done, seconds
// left then said, paths done]. Replayed here on a synthetic clock.
interface RecordedCopy {
  bytesTotal: number;
  pathsTotal?: number;
  endMs: number;
  reports: [number, number, number | null, number][];
}
const FIXTURES = join(import.meta.dirname, '../fixtures/copy-time-left');
const recorded = readdirSync(FIXTURES).map((name) => ({ name, runs: JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as RecordedCopy[] }));

// The worst errors of the estimates past 10 %, in % of the time really left: counted against at least
// 5 s as the bench counts, and among the estimates made with at least 10 s really left.
function worstErrors(run: RecordedCopy): { worst: number; body: number } {
  let clock = 0;
  const pathsTotal = run.pathsTotal ?? run.reports.at(-1)![3];
  const timeLeft = new TimeLeft(run.bytesTotal, pathsTotal, () => clock);
  let worst = 0;
  let body = 0;
  for (const [at, bytes, , paths] of run.reports) {
    clock = at;
    const left = timeLeft.at(bytes, paths);
    if (left === null || bytes < 0.1 * run.bytesTotal) continue;
    const real = (run.endMs - at) / 1000;
    worst = Math.max(worst, Math.abs(left - real) / Math.max(real, 5));
    if (real >= 10) body = Math.max(body, Math.abs(left - real) / real);
  }
  return { worst: worst * 100, body: body * 100 };
}

describe('TimeLeft', () => {
  it('says nothing before 10 % of the bytes, then the time a steady copy really takes', () => {
    // 100 MB at 5 MB/s, after 3 s of Nix starting up (no bytes): 20 s of copying.
    const { shown, end } = copy(100e6, () => 5e6, 3_000);
    expect(shown.filter((s) => s.bytes < 10e6).every((s) => s.left === null)).toBe(true);
    const estimated = shown.filter((s) => s.left !== null);
    expect(estimated.length).toBeGreaterThan(0);
    for (const s of estimated) expect(Math.abs(s.left! - (end - s.at) / 1000)).toBeLessThanOrEqual(1);
  });

  it('takes the pace since 10 %, so a short fast stretch does not halve the estimate', () => {
    // 4 MB/s, with 1 s at 20 MB/s (a run of well-compressed paths) at 30 s: a 10 s window takes the
    // fast second for a tenth of its pace and says 30 % less than is left.
    const { shown, end } = copy(200e6, (second) => (second > 30 && second <= 31 ? 20e6 : 4e6));
    const after = shown.find((s) => s.at === 32_000)!;
    const real = (end - after.at) / 1000;
    expect(Math.abs(after.left! - real) / real).toBeLessThanOrEqual(0.2);
  });

  it('counts down between bursts: bytes reaching the target every 2.5 s neither stretch nor shrink it', () => {
    const { shown, end } = copy(100e6, () => 4e6, 1_000, 2_500);
    const estimated = shown.filter((s) => s.left !== null && s.bytes <= 50e6);
    expect(estimated.length).toBeGreaterThan(20);
    for (const s of estimated) expect(Math.abs(s.left! - (end - s.at) / 1000), `at ${s.at} ms`).toBeLessThanOrEqual(1);
  });

  it('says nothing for a copy of no bytes, or a stalled one', () => {
    let clock = 0;
    const none = new TimeLeft(0, 0, () => clock);
    clock = 5_000;
    expect(none.at(0, 0)).toBeNull();
    const stalled = new TimeLeft(100, 1, () => clock);
    for (clock = 0; clock <= 30_000; clock += 1_000) stalled.at(clock < 3_000 ? clock / 100 : 30, 0);
    expect(stalled.at(30, 0)).toBeNull();
  });

  it('counts each path as well as its bytes: a tail of small paths is not taken for nearly done', () => {
    // 90 % of the bytes in 10 large paths (10 s), then 90 small paths of the last 10 % (one per 100 ms, 9 s).
    let clock = 0;
    const timeLeft = new TimeLeft(100e6, 100, () => clock);
    const said: { at: number; left: number | null }[] = [];
    for (; clock <= 10_000; clock += 100) said.push({ at: clock, left: timeLeft.at(9e6 * (clock / 1000), Math.floor(clock / 1000)) });
    for (let small = 1; small <= 90; small++) {
      clock += 100;
      said.push({ at: clock, left: timeLeft.at(90e6 + small * (10e6 / 90), 10 + small) });
    }
    // At 90 % of the bytes, 9 s are left; bytes alone say 1 s.
    const atNinety = said.find((s) => s.at === 10_000)!;
    expect(atNinety.left).toBeGreaterThanOrEqual(4);
  });

  // Issue 26 item 6 asks for 20 %; on this closure no estimate from bytes and paths reaches it
  // (README, "Performance"). This holds what the estimator reached; the 10 s window it replaced erred
  // 180-360 % on the same copies. The last seconds err most: the last path's few seconds after its bytes.
  it.each(recorded)('stays within 50 percent while 10 s or more are left, 85 percent to the end, on the copies in $name', ({ runs }) => {
    for (const run of runs) {
      const { worst, body } = worstErrors(run);
      expect(body).toBeLessThanOrEqual(50);
      expect(worst).toBeLessThanOrEqual(85);
    }
  });
});

describe('the CLI progress line', () => {
  const event = { v: 1, installId: 'x', phase: 'copy' as const, fraction: 0.5, bytesDone: 1.2e9, bytesTotal: 3.4e9, pathsDone: 3, pathsTotal: 9 };

  it('shows the time left when the daemon sends it', () => {
    expect(progressBar({ ...event, secondsLeft: 42 })).toContain('1.20 GB / 3.40 GB, 3/9 paths, about 42 s left');
    expect(progressBar({ ...event, secondsLeft: 150 })).toContain('about 3 min left');
    expect(progressBar(event)).not.toContain('left');
  });
});
