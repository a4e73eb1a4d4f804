// A `nix copy` into the target store with byte-true progress and the time
// left, whatever it copies from (the live store, or a fleet's seed over
// ssh-ng): Nix's own byte counts where it gives them (2.26 and newer), else
// the bytes of the paths in flight sampled on the target (2.8).
import { join } from 'node:path';
import type { CopyCounts, JobContext } from '../common/context.js';
import type { StorePathInfo } from '../nix/commands.js';
import type { CopyEvents } from '../nix/copy-command.js';
import { bytesOnDisk } from './bytes-on-disk.js';
import { CopyProgress } from './copy-progress.js';
import type { LiveMedium } from './medium-pieces.js';
import { TimeLeft } from './time-left.js';

// Often enough for a smooth bar; a sample of a path with many files backs off.
const SAMPLE_INTERVAL_MS = 100;

// COPY runs the copy of TO_COPY (each path with its NAR size) with the events it gets; each report of progress also
// goes to REPORTED. MEDIUM: the pieces of the medium each path reads and its device's reads, where known
// (medium-pieces.ts).
export async function copyWithProgress(
  ctx: JobContext,
  toCopy: readonly StorePathInfo[],
  copy: (on: CopyEvents) => Promise<void>,
  reported: (counts: CopyCounts) => void = () => undefined,
  medium: LiveMedium | null = null,
): Promise<void> {
  const progress = new CopyProgress(toCopy, medium?.pieces ?? null);
  const reads = medium?.reads ?? null;
  const readsBefore = reads ? await reads().catch(() => null) : null;
  const timeLeft = new TimeLeft(progress.bytesTotal, progress.workTotal, { costPerPath: readsBefore === null });
  let reportedAt = 0;
  const report = () => {
    reportedAt = Date.now();
    const counts = progress.counts();
    const secondsLeft = timeLeft.at(counts.bytesDone, progress.work());
    const shown = secondsLeft === null ? counts : { ...counts, secondsLeft };
    ctx.progress(progress.fraction(), shown);
    reported(shown);
  };
  report();

  // Samples until the copy ends; the wait between samples is cut short then, so it adds no delay.
  let sampling = true;
  let wake = () => {};
  const sampler = (async () => {
    while (sampling) {
      const started = Date.now();
      const paths = progress.countedByNix ? [] : progress.currentPaths;
      for (const path of paths) progress.sample(path, await bytesOnDisk(join(ctx.root, path)));
      const served = reads && readsBefore !== null ? await reads().catch(() => null) : null;
      if (served !== null) progress.served(served - readsBefore!);
      if (paths.length > 0) report();
      const pause = Math.max(SAMPLE_INTERVAL_MS, (Date.now() - started) * 4);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  const moved = (change: (path: string) => void) => (path: string) => {
    change(path);
    report();
  };
  try {
    await copy({
      started: moved((p) => progress.start(p)),
      // Nix counts every write (about one a KB of a path of small files): reported at the sampler's pace.
      copied: (p, bytes) => {
        progress.copied(p, bytes);
        if (Date.now() - reportedAt >= SAMPLE_INTERVAL_MS) report();
      },
      finished: moved((p) => progress.finish(p)),
    });
  } finally {
    sampling = false;
    wake();
    await sampler;
  }
  progress.finishAll();
  // No time left once done: the counts stay on the later phases' progress events.
  const counts = progress.counts();
  ctx.progress(1, counts);
  reported(counts);
}
