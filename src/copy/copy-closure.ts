// Stage `copy`: copy the system's closure into the target store explicitly, from the
// live store, with progress weighted by each path's bytes. A flake's locked
// inputs go along (EXTRA), so the installed system can evaluate its flake offline.
import { join } from 'node:path';
import { closureInfo } from '../nix/commands.js';
import { copyToTarget } from '../nix/copy-command.js';
import { mediumDamage, type MediumDamage } from '../nix/errors.js';
import type { StorePathInfo } from '../nix/commands.js';
import type { JobContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { checkFreeSpace } from '../common/free-space.js';
import { bytesOnDisk } from './bytes-on-disk.js';
import { validInTarget } from './closure.js';
import { CopyProgress } from './copy-progress.js';
import { mediumDamagedError } from './medium-damaged.js';
import { makeTargetStoreFolders } from './target-store-folders.js';
import { TimeLeft } from './time-left.js';

// Often enough for a smooth bar; a sample of a path with many files backs off.
const SAMPLE_INTERVAL_MS = 100;

export async function copyClosure(ctx: JobContext, toplevel: string, extra: readonly string[] = []): Promise<void> {
  const roots = [toplevel, ...extra];
  const closure = await closureInfo(ctx, roots);
  const present = await validInTarget(ctx, closure.map((p) => p.path));
  const toCopy = closure.filter((p) => !present.has(p.path));
  const progress = new CopyProgress(toCopy);
  ctx.log('copy', `closure: ${closure.length} paths; ${toCopy.length} to copy (${progress.bytesTotal} bytes), ${present.size} already on the target`);
  await checkFreeSpace(ctx.root, progress.bytesTotal, `${toCopy.length} store paths to copy, by nix path-info`);
  // Nix enters only store folders root made (nothing is written before the space is known to suffice).
  await makeTargetStoreFolders(ctx.root);
  ctx.progress(0, progress.counts());
  const timeLeft = new TimeLeft(progress.bytesTotal, toCopy.length);
  let reportedAt = 0;
  const report = () => {
    reportedAt = Date.now();
    const counts = progress.counts();
    const secondsLeft = timeLeft.at(counts.bytesDone, counts.pathsDone);
    ctx.progress(progress.fraction(), secondsLeft === null ? counts : { ...counts, secondsLeft });
  };

  // Samples until the copy ends; the wait between samples is cut short then, so it adds no delay.
  let sampling = true;
  let wake = () => {};
  const sampler = (async () => {
    while (sampling) {
      const started = Date.now();
      const paths = progress.countedByNix ? [] : progress.currentPaths;
      for (const path of paths) progress.sample(path, await bytesOnDisk(join(ctx.root, path)));
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
  const started: string[] = [];
  let damage: MediumDamage | null = null;
  try {
    await copyToTarget(
      ctx,
      ctx.root,
      roots,
      {
        started: moved((p) => (started.push(p), progress.start(p))),
        // Nix counts every write (about one a KB of a path of small files): reported at the sampler's pace.
        copied: (p, bytes) => {
          progress.copied(p, bytes);
          if (Date.now() - reportedAt >= SAMPLE_INTERVAL_MS) report();
        },
        finished: moved((p) => progress.finish(p)),
      },
      (outcome, tail) => {
        // Read from the live store wrong or not at all: the medium, whatever the target's free space.
        damage = mediumDamage(outcome.messages);
        return new InstallError(
          'copy-failed',
          'The system could not be copied to the target',
          `nix copy to ${ctx.root} exited with ${outcome.result.exitCode}:\n${tail}\nCheck free space on the target (df -h ${ctx.root}); the system needs ${Math.ceil(progress.bytesTotal / 1e6)} MB.`,
        );
      },
    );
  } catch (error) {
    if (damage) throw await damagedMedium(ctx, damage, toCopy, started, present);
    throw error;
  } finally {
    sampling = false;
    wake();
    await sampler;
  }
  progress.finishAll();
  ctx.progress(1, progress.counts());
}

// Nix stops a path's activity also when the path fails, so what reached the
// target is asked of the target store: the paths now valid there. A path
// started and not valid is where the read failed, when Nix did not name it.
async function damagedMedium(ctx: JobContext, damage: MediumDamage, toCopy: readonly StorePathInfo[], started: readonly string[], before: ReadonlySet<string>) {
  const valid = await validInTarget(ctx, toCopy.map((p) => p.path));
  const written = toCopy.filter((p) => valid.has(p.path) && !before.has(p.path));
  return mediumDamagedError(damage, {
    root: ctx.root,
    counts: { pathsDone: written.length, pathsTotal: toCopy.length, bytesDone: written.reduce((sum, p) => sum + p.narSize, 0), bytesTotal: toCopy.reduce((sum, p) => sum + p.narSize, 0) },
    inFlight: [...new Set(started)].filter((p) => !valid.has(p)),
  });
}
