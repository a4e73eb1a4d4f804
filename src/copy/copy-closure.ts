// Stage `copy`: copy the system's closure into the target store explicitly, from the
// live store, with progress weighted by each path's bytes. A flake's locked
// inputs go along (EXTRA), so the installed system can evaluate its flake offline.
import { closureInfo, narBytes } from '../nix/commands.js';
import { copyToTarget } from '../nix/copy-command.js';
import { mediumDamage, type MediumDamage } from '../nix/errors.js';
import type { StorePathInfo } from '../nix/commands.js';
import type { JobContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { checkFreeSpace } from '../common/free-space.js';
import { validInTarget } from './closure.js';
import { copyWithProgress } from './copy-with-progress.js';
import { liveMedium } from './medium-pieces.js';
import { mediumDamagedError } from './medium-damaged.js';
import { makeTargetStoreFolders } from './target-store-folders.js';

export async function copyClosure(ctx: JobContext, toplevel: string, extra: readonly string[] = []): Promise<void> {
  const roots = [toplevel, ...extra];
  const closure = await closureInfo(ctx, roots);
  const present = await validInTarget(ctx, closure.map((p) => p.path));
  const toCopy = closure.filter((p) => !present.has(p.path));
  const bytesTotal = narBytes(toCopy);
  ctx.log('copy', `closure: ${closure.length} paths; ${toCopy.length} to copy (${bytesTotal} bytes), ${present.size} already on the target`);
  await checkFreeSpace(ctx.root, bytesTotal, `${toCopy.length} store paths to copy, by nix path-info`);
  // Nix enters only store folders root made (nothing is written before the space is known to suffice).
  await makeTargetStoreFolders(ctx.root);
  const medium = await liveMedium(ctx);
  const started: string[] = [];
  let damage: MediumDamage | null = null;
  try {
    await copyWithProgress(ctx, toCopy, (on) =>
      copyToTarget(
        ctx,
        ctx.root,
        roots,
        { ...on, started: (p) => (started.push(p), on.started(p)) },
        (outcome, tail) => {
          // Read from the live store wrong or not at all: the medium, whatever the target's free space.
          damage = mediumDamage(outcome.messages);
          return new InstallError(
            'copy-failed',
            'The system could not be copied to the target',
            `nix copy to ${ctx.root} exited with ${outcome.result.exitCode}:\n${tail}\nCheck free space on the target (df -h ${ctx.root}); the system needs ${Math.ceil(bytesTotal / 1e6)} MB.`,
          );
        },
      ),
      undefined,
      medium,
    );
  } catch (error) {
    if (damage) throw await damagedMedium(ctx, damage, toCopy, started, present);
    throw error;
  }
}

// Nix stops a path's activity also when the path fails, so what reached the
// target is asked of the target store: the paths now valid there. A path
// started and not valid is where the read failed, when Nix did not name it.
async function damagedMedium(ctx: JobContext, damage: MediumDamage, toCopy: readonly StorePathInfo[], started: readonly string[], before: ReadonlySet<string>) {
  const valid = await validInTarget(ctx, toCopy.map((p) => p.path));
  const written = toCopy.filter((p) => valid.has(p.path) && !before.has(p.path));
  return mediumDamagedError(damage, {
    root: ctx.root,
    counts: { pathsDone: written.length, pathsTotal: toCopy.length, bytesDone: narBytes(written), bytesTotal: narBytes(toCopy) },
    inFlight: [...new Set(started)].filter((p) => !valid.has(p)),
  });
}
