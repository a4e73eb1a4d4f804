import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeLeft } from '../../src/copy/time-left.js';

const work = (bytes: number, paths: number) => ({ bytes, paths });
import { progressBar } from '../../src/cli/render.js';
import { REPO } from '../helpers/env.js';

// A copy of TOTAL bytes in PATHS paths at RATE bytes/s on a synthetic clock, sampled every 100 ms as
// copy-closure does; with BURST_MS, what was read reaches the target only every so often.
function copy(total: number, rateAt: (second: number) => number, startDelayMs = 0, burstMs = 100, paths = 100) {
  let clock = 0;
  const timeLeft = new TimeLeft(total, work(total, paths), { now: () => clock });
  const shown: { at: number; bytes: number; left: number | null }[] = [];
  const pathsAt = (bytes: number) => Math.floor((bytes / total) * paths);
  let read = 0;
  let bytes = 0;
  for (; clock < startDelayMs; clock += 100) shown.push({ at: clock, bytes, left: timeLeft.at(bytes, work(bytes, 0)) });
  while (bytes < total) {
    clock += 100;
    read = Math.min(total, read + (rateAt(clock / 1000) * 100) / 1000);
    if ((clock - startDelayMs) % burstMs === 0 || read === total) bytes = read;
    shown.push({ at: clock, bytes, left: timeLeft.at(bytes, work(bytes, pathsAt(bytes))) });
  }
  return { shown, end: clock };
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
    const none = new TimeLeft(0, work(0, 0), { now: () => clock });
    clock = 5_000;
    expect(none.at(0, work(0, 0))).toBeNull();
    const stalled = new TimeLeft(100, work(100, 1), { now: () => clock });
    for (clock = 0; clock <= 30_000; clock += 1_000) stalled.at(clock < 3_000 ? clock / 100 : 30, work(clock < 3_000 ? clock / 100 : 30, 0));
    expect(stalled.at(30, work(30, 0))).toBeNull();
  });

  it('learns what a path takes beyond its bytes from the copy so far, so a tail of small paths is not taken for nearly done', () => {
    // Each MB 0.2 s and each path 0.1 s: first 8 large paths (10 MB, 2.1 s each) each followed by 10 small ones
    // (0.1 MB, 0.12 s each), then a tail of 120 small paths, 14.4 s of the 36.7 s the copy takes.
    let clock = 0;
    const copied: { mb: number }[] = [];
    for (let i = 0; i < 8; i++) copied.push({ mb: 10 }, ...Array.from({ length: 10 }, () => ({ mb: 0.1 })));
    for (let i = 0; i < 120; i++) copied.push({ mb: 0.1 });
    const totalMB = copied.reduce((sum, p) => sum + p.mb, 0);
    const timeLeft = new TimeLeft(totalMB * 1e6, work(totalMB * 1e6, copied.length), { now: () => clock });
    const said: { at: number; left: number | null; pathsDone: number }[] = [];
    let doneMB = 0;
    copied.forEach((path, i) => {
      // Reported every 100 ms while the path is copied, then once done.
      const began = clock;
      const ms = Math.round(1000 * (0.2 * path.mb + 0.1));
      for (clock = began + 100; clock < began + ms; clock += 100) {
        const share = (clock - began) / ms;
        const bytes = (doneMB + share * path.mb) * 1e6;
        said.push({ at: clock, left: timeLeft.at(bytes, work(bytes, i + share)), pathsDone: i });
      }
      clock = began + ms;
      doneMB += path.mb;
      said.push({ at: clock, left: timeLeft.at(doneMB * 1e6, work(doneMB * 1e6, i + 1)), pathsDone: i + 1 });
    });
    const end = clock;
    const tailStart = said.find((s) => s.pathsDone === 88)!;
    const real = (end - tailStart.at) / 1000;
    // Bytes alone (98 % done) would say 0.3 s.
    expect(Math.abs(tailStart.left! - real) / real).toBeLessThanOrEqual(0.2);
  });

  it('never takes a path for less than no time', () => {
    // 4 s of one large path at 2.5 MB/s, then 2 s in which 50 small paths come with bytes at 10 MB/s: a free fit
    // takes each path for minus 0.1 s and, with 950 paths left, says no time is left at all.
    let clock = 0;
    const timeLeft = new TimeLeft(100e6, work(100e6, 1000), { now: () => clock });
    let left: number | null = null;
    for (clock = 0; clock <= 6_000; clock += 100) {
      const t = clock / 1000;
      const bytes = 10e6 + (t <= 4 ? 2.5e6 * t : 10e6 + 10e6 * (t - 4));
      left = timeLeft.at(bytes, work(bytes, t <= 4 ? 0 : Math.floor(25 * (t - 4))));
    }
    // 60 MB left at the pace of the 30 MB since 10 MB: about 18 s.
    expect(left).toBeGreaterThanOrEqual(10);
  });

  it("follows the medium's reads alone where they are counted, since the copy began, as a copy that waits on the medium goes", () => {
    // A copy recorded by bench/copy-time-left.bench.ts on Nix 2.34 (several paths at once), its work counted with
    // the stick's reads: [ms, NAR bytes, paths done, work bytes, work paths] every 100 ms.
    const recorded = JSON.parse(readFileSync(join(REPO, 'test/fixtures/copy-time-left/medium-reads-nix-2.34.8.json'), 'utf8')) as {
      bytesTotal: number;
      endMs: number;
      workTotal: { bytes: number; paths: number };
      reports: [number, number, number, number, number][];
    };
    // The worst error past 10 %, as the bench counts it (against at least 5 s), and that of the first 3 s of estimates.
    const errors = (costPerPath: boolean) => {
      let clock = 0;
      const timeLeft = new TimeLeft(recorded.bytesTotal, recorded.workTotal, { now: () => clock, costPerPath });
      let worst = 0;
      let first = 0;
      let firstAt: number | null = null;
      for (const [at, bytes, , workBytes, workPaths] of recorded.reports) {
        clock = at;
        const left = timeLeft.at(bytes, work(workBytes, workPaths));
        if (left === null) continue;
        const real = (recorded.endMs - at) / 1000;
        worst = Math.max(worst, Math.abs(left - real) / Math.max(real, 5));
        firstAt ??= at;
        if (at - firstAt <= 3_000) first = Math.max(first, Math.abs(left - real) / real);
      }
      return { worst, first };
    };
    const worst = (costPerPath: boolean) => errors(costPerPath).worst;
    expect(worst(false)).toBeLessThanOrEqual(0.2);
    // Fitted since 10 % only, the first estimates followed the slower stretch just past it (17 % off).
    expect(errors(false).first).toBeLessThanOrEqual(0.1);
    // Fitted a cost per path, a stretch of many small paths read at a slower pace took the blame, and the rest,
    // a few large paths, was said to take far less than it did.
    expect(worst(true)).toBeGreaterThan(0.2);
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
