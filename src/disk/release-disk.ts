// Undoes what the session did, newest first, however the install ended: swap
// off, file systems unmounted (retried while processes of a cancelled stage
// still hold them; lazily as a last resort, which at least leaves nothing
// mounted), LUKS devices closed, the mount point removed. Runs with its own
// cancel signal: a cancelled install still cleans up.
import { rmdir } from 'node:fs/promises';
import type { CommandContext } from '../common/context.js';
import { InstallError, errorMessage } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import type { DiskSession } from './disk-session.js';
import { adoptDiskoUses } from './disko.js';
import { luksCloseArgs } from './luks.js';

const UNMOUNT_TRIES = 10;
const RETRY_MS = 500;

async function run(ctx: CommandContext, file: string, args: string[]): Promise<string | null> {
  try {
    await runStageCommand(ctx, { file, args, failure: (r) => new InstallError('release-failed', `${file} ${args.join(' ')} exited with ${r.exitCode}`, lastLines(ctx, file)) });
    return null;
  } catch (error) {
    return error instanceof InstallError ? `${error.title}: ${error.description}` : errorMessage(error);
  }
}

// Returns what could not be undone cleanly (empty when all went well).
export async function releaseDisk(ctx: CommandContext, session: DiskSession): Promise<string[]> {
  const problems: string[] = [];
  // disko's scripts mount, swap on and open what the layout says: whatever of it is active now, even after a script failed halfway.
  if (session.disko) await adoptDiskoUses(ctx, session);
  while (session.swaps.length > 0) {
    const swap = session.swaps.pop()!;
    const problem = await run(ctx, 'swapoff', [swap]);
    if (problem) problems.push(problem);
  }
  while (session.mounts.length > 0) {
    const where = session.mounts.pop()!;
    let problem: string | null = null;
    for (let attempt = 1; attempt <= UNMOUNT_TRIES; attempt++) {
      problem = await run(ctx, 'umount', [where]);
      if (!problem) break;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    if (problem) {
      ctx.log('release', `${where} is still busy after ${(UNMOUNT_TRIES * RETRY_MS) / 1000} s; detaching it lazily`, 'warn');
      const lazy = await run(ctx, 'umount', ['--lazy', where]);
      problems.push(lazy ? `${where} could not be unmounted: ${lazy}` : `${where} was busy and was unmounted lazily`);
    }
  }
  while (session.mappers.length > 0) {
    const name = session.mappers.pop()!;
    const problem = await run(ctx, 'cryptsetup', luksCloseArgs(name));
    if (problem) problems.push(problem);
  }
  if (session.madeMountPoint) await rmdir(session.mountPoint).catch((error: unknown) => problems.push(`${session.mountPoint} could not be removed: ${errorMessage(error)}`));
  ctx.log('release', problems.length === 0 ? 'the disk is unmounted and released' : `releasing the disk: ${problems.join('; ')}`, problems.length === 0 ? 'info' : 'warn');
  return problems;
}
