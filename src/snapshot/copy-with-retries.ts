// A consistent copy of a configuration folder that someone may be editing: it
// counts only if the folder did not change while it was copied.
import { Beneath } from '../fs/beneath.js';
import type { CommandContext } from '../common/context.js';
import { InstallCancelled, InstallError } from '../common/install-error.js';
import { copySnapshot, SourceChanged, STAGED, type CopyRules, type Holdings } from './copy-snapshot.js';
import { scanSource, type SourceScan } from './scan-source.js';

const COPY_ATTEMPTS = 3;
// The error's code when the folder changed during every attempt.
export const CONFIG_CHANGING = 'config-changing';

export interface Copied extends SourceScan {
  // Files and links written; an up-to-date copy of an unchanged folder writes none.
  written: number;
}

// Where the copy comes from: a folder anyone may be editing (checked for changes after the copy), or one only root
// can change (a private copy the daemon made: its folders are checked to be root's alone, and it is scanned once).
export type SourceKind = 'shared' | 'roots-alone';

// One attempt: scan, copy into STAGING (a fresh one, 0700 until complete; or, with HOLDS, the earlier copy there
// brought up to date), scan again if anything was read from a folder someone may be editing. Null when the folder
// changed meanwhile.
async function copyOnce(ctx: CommandContext, source: string, kind: SourceKind, etc: Beneath, staging: string, rules: CopyRules, holds?: Holdings): Promise<Copied | null> {
  const before = await scanSource(source);
  if (holds === undefined) {
    await etc.remove(staging);
    await etc.mkdir(staging, 0o700);
  }
  const to = await etc.dir(staging);
  try {
    const from = await Beneath.open(source, { rootOwned: kind === 'roots-alone' }).catch((error: unknown) => {
      if (kind === 'roots-alone') throw error;
      throw new SourceChanged(`${source} is no longer a folder`);
    });
    let written: number;
    try {
      written = await copySnapshot(from, to, before, rules, holds, ctx.signal);
    } finally {
      await from.close();
    }
    if (ctx.signal.aborted) throw new InstallCancelled();
    // Nothing read (an unchanged folder's kept copy): what was copied before is the folder as just scanned.
    const after = kind === 'shared' && written > 0 ? await scanSource(source) : before;
    if (after.fingerprint !== before.fingerprint) return null;
    await to.chown(0, rules.gid);
    await to.chmod(rules.dirMode);
    return { ...after, written };
  } catch (error) {
    if (error instanceof SourceChanged) return null;
    throw error;
  } finally {
    await to.close();
  }
}

// Copies SOURCE into INTO/NAME (which must not exist; with HOLDS, it holds an earlier copy of SOURCE, which is
// brought up to date), retried while the source changes under it; returns the scan of what was copied. The
// private prepared copy (src/prepare/) and the staged one (src/stage/) are both made so, so what is checked is what is staged.
export async function copyWithRetries(ctx: CommandContext, source: string, kind: SourceKind, etc: Beneath, staging: string, rules: CopyRules = STAGED, holds?: Holdings): Promise<Copied> {
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    const snapshot = await copyOnce(ctx, source, kind, etc, staging, rules, holds);
    if (snapshot) return snapshot;
    if (attempt < COPY_ATTEMPTS) ctx.log('stage', `${source} changed while it was being copied; copying it again (attempt ${attempt + 1} of ${COPY_ATTEMPTS})`, 'warn');
  }
  throw new InstallError(
    CONFIG_CHANGING,
    `${source} keeps changing`,
    `The configuration folder changed during each of ${COPY_ATTEMPTS} copies, so no consistent snapshot could be taken. Finish editing ${source}, then start the install again.`,
  );
}
