// Run by copy-time-left.bench.ts inside scripts/iso-store.sh (the ISO's /nix,
// in a mount namespace of its own, its squashfs read through a throttled
// medium): the product's copy phase (copyClosure, as the daemon runs it) of the
// closure in the image into a fresh target, RUNS times, the squashfs mounted
// afresh before each so every run reads the medium. Prints, per run, every
// progress report (ms since the copy began, bytes done, the seconds left said
// or null, paths done), the bytes and paths to copy and when the copy ended, as JSON.
//
// With STICK (a file system image holding IMAGE as nix-store.squashfs), the squashfs is read from it
// mounted, as the ISO's from /iso.
//
//   node copy-time-left-run.mjs IMAGE PATHS-FILE RUNS WORK [STICK]
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { copyClosure } from '../dist/copy/copy-closure.js';
import { benchJobContext, freshMedium } from './in-iso-store.mjs';

const [image, pathsFile, runsText, work, stickImage] = process.argv.slice(2);
const stick = stickImage ? { image: stickImage, mountPoint: join(work, 'stick') } : null;
if (stick) mkdirSync(stick.mountPoint);
const paths = readFileSync(pathsFile, 'utf8').trim().split('\n');

async function copyOnce(root) {
  const reports = [];
  const starts = [];
  let began = null;
  let bytesTotal = 0;
  let pathsTotal = 0;
  const ctx = benchJobContext(root, {
    output: (_source, line) => {
      if (process.env.ETA_PATHS && began !== null && line.startsWith('copying path')) starts.push([Math.round(performance.now() - began), line.split("'")[1]]);
    },
    progress: (fraction, counts) => {
      const now = performance.now();
      // The copy begins with its first report (0 %), once the closure is known and the space checked.
      began ??= now;
      if (!counts) return;
      bytesTotal = counts.bytesTotal;
      pathsTotal = counts.pathsTotal;
      reports.push([Math.round(now - began), counts.bytesDone, counts.secondsLeft ?? null, counts.pathsDone]);
    },
  });
  await copyClosure(ctx, paths[0], paths.slice(1));
  return { bytesTotal, pathsTotal, endMs: Math.round(performance.now() - began), reports, ...(process.env.ETA_PATHS && { starts }) };
}

const runs = [];
for (let i = 0; i < Number(runsText); i++) {
  const root = join(work, `copy-${i}`);
  mkdirSync(root, { mode: 0o755 });
  freshMedium(image, 128, stick);
  runs.push(await copyOnce(root));
  rmSync(root, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(runs)}\n`);
