// Issue 26 item 6: the copy's time left, shown by the CLI and Calamares, within
// 20 % of what the copy then really takes once past 10 % of the bytes. Real
// copies (bench/copy-time-left-run.mjs: copyClosure as the daemon runs it) of
// the medium benchmark's closure (bench/closure-images.ts: 290 store paths of
// this machine's /usr, zstd as the ISO's) from a store laid out as the ISO's,
// its squashfs a file on a stick's file system, as /iso/nix-store.squashfs
// is, the stick throttled so a copy takes about MEDIUM_SECONDS
// (test/helpers/bad-region.py), as a slow stick's would. Every
// estimate made past 10 % is set against the time the copy then took; the
// error is counted against at least FLOOR_SECONDS, since the display says
// whole seconds. The reports of each run are kept (RESULTS/series/copy-time-
// left-nix-*.json) to look into.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { slowReads } from '../test/helpers/bad-medium.js';
import { cleanUp } from '../test/helpers/daemon.js';
import { REPO, scratch, testEnv } from '../test/helpers/env.js';
import { closureImages } from './closure-images.js';
import { QUICK, RESULTS, record } from './lib.js';

const RUNS = Number(process.env.ETA_RUNS ?? (QUICK ? 1 : 3));
const MEDIUM_SECONDS = Number(process.env.ETA_MEDIUM_SECONDS ?? (QUICK ? 10 : 30));
const FIRST_FRACTION = 0.1;
const FLOOR_SECONDS = 5;
const GOAL_PERCENT = 20;

interface CopyRun {
  bytesTotal: number;
  pathsTotal: number;
  endMs: number;
  // [ms since the copy began, bytes done, seconds left said or null, paths done]
  reports: [number, number, number | null, number][];
}

// Each estimate past FIRST_FRACTION: how far off it was, in % of the time really left (at least FLOOR_SECONDS).
function errors(run: CopyRun): { atFraction: number; said: number; real: number; percent: number }[] {
  return run.reports
    .filter(([, bytes, said]) => said !== null && bytes >= FIRST_FRACTION * run.bytesTotal)
    .map(([at, bytes, said]) => {
      const real = (run.endMs - at) / 1000;
      return { atFraction: bytes / run.bytesTotal, said: said!, real, percent: (100 * (said! - real)) / Math.max(real, FLOOR_SECONDS) };
    });
}

// One report per 100 ms is kept for the unit tests (the first of each), and the last.
const thinned = (run: CopyRun): CopyRun => ({
  ...run,
  reports: run.reports.filter(([at], i, all) => i === all.length - 1 || i === 0 || Math.floor(at / 100) !== Math.floor(all[i - 1]![0] / 100)),
});

it('copy time left against the time the copy then took', async () => {
  const { pathsFile, bytes, images } = await closureImages();
  const dir = await scratch('bench-time-left');
  const rate = Math.round(statSync(images.zstd).size / MEDIUM_SECONDS);
  // The ISO's stick: its file system (ext4 here, iso9660 on the ISO) holds the squashfs as a file, so the
  // stick's device counts what the medium served past the caches (src/fs/device-reads.ts).
  const stickFiles = join(dir, 'stick-files');
  await mkdir(stickFiles);
  copyFileSync(images.zstd, join(stickFiles, 'nix-store.squashfs'));
  const stick = join(dir, 'stick.img');
  execFileSync('truncate', ['-s', String(Math.ceil((statSync(images.zstd).size * 1.1 + (16 << 20)) / 4096) * 4096), stick]);
  execFileSync('mkfs.ext4', ['-q', '-d', stickFiles, '--', stick]);
  await rm(stickFiles, { recursive: true });
  const medium = await slowReads(stick, dir, rate);
  try {
    const work = join(dir, 'work');
    await mkdir(work, { mode: 0o755 });
    const output = execFileSync('bash', [join(REPO, 'scripts/iso-store.sh'), images.zstd, '--', process.execPath, join(REPO, 'bench/copy-time-left-run.mjs'), images.zstd, pathsFile, String(RUNS), work, medium.image], {
      env: testEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 256 << 20,
    });
    const runs = JSON.parse(output.trim().split('\n').pop()!) as CopyRun[];
    const nix = execFileSync('nix', ['--version'], { encoding: 'utf8' }).trim().split(' ').pop()!;
    mkdirSync(join(RESULTS, 'series'), { recursive: true });
    writeFileSync(join(RESULTS, 'series', `copy-time-left-nix-${nix}.json`), `${JSON.stringify(runs.map(thinned))}\n`);
    const perRun = runs.map(errors);
    const all = perRun.flat();
    const early = all.filter((e) => e.real >= 10);
    const worst = all.reduce((w, e) => (Math.abs(e.percent) > Math.abs(w.percent) ? e : w), all[0] ?? { atFraction: 0, said: 0, real: 0, percent: Infinity });
    const notes = perRun.map((es, i) => {
      const w = es.reduce((a, e) => (Math.abs(e.percent) > Math.abs(a.percent) ? e : a), es[0]!);
      return `run ${i + 1}: copy ${(runs[i]!.endMs / 1000).toFixed(1)} s, ${es.length} estimates past 10 %, worst ${w.percent.toFixed(0)} % (at ${(100 * w.atFraction).toFixed(0)} %: said ${w.said} s, took ${w.real.toFixed(1)} s)`;
    });
    record(
      'copy-time-left',
      'Copy time left against the time really left',
      [
        { name: 'worst error of the time left past 10 % of the bytes', value: Math.abs(worst.percent), unit: '%', baseline: null, baselineLabel: null, goal: `<= ${GOAL_PERCENT}`, met: Math.abs(worst.percent) <= GOAL_PERCENT },
        // Only when some estimate was made that early (a quick run's copy may be shorter).
        ...(early.length > 0 ? [{ name: 'worst error while 10 s or more were really left', value: early.reduce((w, e) => Math.max(w, (100 * Math.abs(e.said - e.real)) / e.real), 0), unit: '%', baseline: null, baselineLabel: null, goal: `<= ${GOAL_PERCENT}`, met: null }] : []),
        { name: 'copy phase, median of runs', value: runs.map((r) => r.endMs / 1000).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!, unit: 's', baseline: null, baselineLabel: null, goal: '(context)', met: null },
      ],
      [`closure: ${(bytes / 1e6).toFixed(0)} MB; medium throttled to ${(rate / 1e6).toFixed(2)} MB/s of squashfs; Nix ${nix}`, ...notes],
    );
  } finally {
    await medium.stop();
    await cleanUp(dir, null);
  }
});
