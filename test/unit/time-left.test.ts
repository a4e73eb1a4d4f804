import { describe, expect, it } from 'vitest';
import { TimeLeft } from '../../src/copy/time-left.js';
import { progressBar } from '../../src/cli/render.js';

// A copy of TOTAL bytes at RATE bytes/s on a synthetic clock, sampled every 100 ms as copy-closure does;
// with BURST_MS, what was read reaches the target only every so often.
function copy(total: number, rateAt: (second: number) => number, startDelayMs = 0, burstMs = 100) {
  let clock = 0;
  const timeLeft = new TimeLeft(total, () => clock);
  const shown: { at: number; bytes: number; left: number | null }[] = [];
  let read = 0;
  let bytes = 0;
  for (; clock < startDelayMs; clock += 100) shown.push({ at: clock, bytes, left: timeLeft.at(bytes) });
  while (bytes < total) {
    clock += 100;
    read = Math.min(total, read + (rateAt(clock / 1000) * 100) / 1000);
    if ((clock - startDelayMs) % burstMs === 0 || read === total) bytes = read;
    shown.push({ at: clock, bytes, left: timeLeft.at(bytes) });
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

  it('follows a medium that slows down within its window, not the average since the start', () => {
    // 10 MB/s for 10 s, then 2 MB/s: 20 s after the change, the rate is the new one.
    const { shown, end } = copy(200e6, (second) => (second <= 10 ? 10e6 : 2e6));
    const late = shown.find((s) => s.at === 30_000)!;
    expect(late.left).toBeGreaterThan(0);
    expect(Math.abs(late.left! - (end - late.at) / 1000)).toBeLessThanOrEqual(1);
  });

  it('counts down between bursts: bytes reaching the target every 2.5 s neither stretch nor shrink it', () => {
    const { shown, end } = copy(100e6, () => 4e6, 1_000, 2_500);
    const estimated = shown.filter((s) => s.left !== null && s.bytes <= 50e6);
    expect(estimated.length).toBeGreaterThan(20);
    for (const s of estimated) expect(Math.abs(s.left! - (end - s.at) / 1000), `at ${s.at} ms`).toBeLessThanOrEqual(1);
  });

  it('says nothing for a copy of no bytes, or a stalled one', () => {
    let clock = 0;
    const none = new TimeLeft(0, () => clock);
    clock = 5_000;
    expect(none.at(0)).toBeNull();
    const stalled = new TimeLeft(100, () => clock);
    for (clock = 0; clock <= 30_000; clock += 1_000) stalled.at(clock < 3_000 ? clock / 100 : 30);
    expect(stalled.at(30)).toBeNull();
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
