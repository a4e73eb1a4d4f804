// Step 4: copy the system's closure into the target store explicitly, from the
// live store, with progress weighted by each path's bytes.
import { join } from 'node:path';
import type { JobContext } from '../job/context.js';
import { InstallError } from '../job/install-error.js';
import { lastLines, runStepCommand } from '../job/run-step-command.js';
import { NIX_COMMAND_OPTIONS } from '../build/nix-options.js';
import { bytesOnDisk } from './bytes-on-disk.js';
import { closureOf, validInTarget } from './closure.js';
import { COPYING_PATH, CopyProgress } from './copy-progress.js';

// Often enough for a smooth bar; a sample of a path with many files backs off.
const SAMPLE_INTERVAL_MS = 100;

export async function copyClosure(ctx: JobContext, toplevel: string): Promise<void> {
  const closure = await closureOf(ctx, toplevel);
  const present = await validInTarget(ctx, closure.map((p) => p.path));
  const toCopy = closure.filter((p) => !present.has(p.path));
  const progress = new CopyProgress(toCopy);
  ctx.log('copy', `closure: ${closure.length} paths; ${toCopy.length} to copy (${progress.bytesTotal} bytes), ${present.size} already on the target`);
  ctx.progress(0, progress.counts());

  // Samples until the copy ends; the wait between samples is cut short then, so it adds no delay.
  let sampling = true;
  let wake = () => {};
  const sampler = (async () => {
    while (sampling) {
      const path = progress.currentPath;
      const started = Date.now();
      if (path !== null) {
        progress.sample(path, await bytesOnDisk(join(ctx.root, path)));
        ctx.progress(progress.fraction(), progress.counts());
      }
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

  try {
    await runStepCommand(ctx, {
      file: 'nix',
      source: 'nix copy',
      args: ['copy', '--no-check-sigs', '--to', ctx.root, '-v', ...NIX_COMMAND_OPTIONS, toplevel],
      onLine: (line) => {
        const match = COPYING_PATH.exec(line);
        if (!match) return;
        progress.start(match[1]!);
        ctx.progress(progress.fraction(), progress.counts());
      },
      failure: (res) =>
        new InstallError(
          'copy-failed',
          'The system could not be copied to the target',
          `nix copy to ${ctx.root} exited with ${res.exitCode}:\n${lastLines(ctx, 'nix copy')}\nCheck free space on the target (df -h ${ctx.root}); the system needs ${Math.ceil(progress.bytesTotal / 1e6)} MB.`,
        ),
    });
  } finally {
    sampling = false;
    wake();
    await sampler;
  }
  progress.finishAll();
  ctx.progress(1, progress.counts());
}
