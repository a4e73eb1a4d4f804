// Step 1: copy the configuration folder to <root>/etc/nixos. The copy goes to a
// staging folder on the target first and counts only if the source did not
// change while it was copied (a technician may be editing /tmp/nix-cfg), so the
// target never gets a mix of two versions. An existing /etc/nixos is kept as a
// timestamped backup. The source is only ever read.
import { chmod, lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { backupPath } from '../step/backup-name.js';
import type { CommandContext, JobContext } from '../step/context.js';
import { InstallCancelled, InstallError } from '../step/install-error.js';
import { scanSource, type SourceScan } from './scan-source.js';

const COPY_ATTEMPTS = 3;

export interface StagedConfig {
  etcNixos: string;
  backup: string | null;
  files: number;
  bytes: number;
}

// Files from a read-only ISO arrive read-only; the owner of /etc/nixos must be
// able to edit them. The snapshot's modes say which need it (the copy keeps them).
async function makeOwnerWritable(staging: string, snapshot: SourceScan): Promise<void> {
  await chmod(staging, ((await lstat(staging)).mode & 0o7777) | 0o200);
  const readOnly = snapshot.entries.filter((e) => e.kind !== 'symlink' && (e.mode & 0o200) === 0);
  await Promise.all(readOnly.map((e) => chmod(join(staging, e.path), e.mode | 0o200)));
}

// Copies SOURCE to DEST (which must not exist) and returns the scan of what was
// copied, retried while the source changes under it.
export async function copySnapshot(ctx: CommandContext, source: string, staging: string) {
  // Loaded on first use: an idle daemon does not need it (about 5 MB resident).
  const { default: fse } = await import('fs-extra');
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    const before = await scanSource(source);
    await rm(staging, { recursive: true, force: true });
    await fse.copy(source, staging, { dereference: false, preserveTimestamps: true, errorOnExist: true, overwrite: false });
    if (ctx.signal.aborted) throw new InstallCancelled();
    const after = await scanSource(source);
    if (after.fingerprint === before.fingerprint) return after;
    ctx.log('stage', `${source} changed while it was being copied; copying it again (attempt ${attempt + 1} of ${COPY_ATTEMPTS})`, 'warn');
  }
  throw new InstallError(
    'config-changing',
    `${source} keeps changing`,
    `The configuration folder changed during each of ${COPY_ATTEMPTS} copies, so no consistent snapshot could be taken. Finish editing ${source}, then start the install again.`,
  );
}

// SOURCE is the prepared folder; SHOWN_AS the folder the person knows it as.
export async function stageConfig(ctx: JobContext, source: string, shownAs: string = source): Promise<StagedConfig> {
  const etc = join(ctx.root, 'etc');
  const etcNixos = join(etc, 'nixos');
  const staging = join(etc, `.nixos.staging-${ctx.installId}`);
  await mkdir(etc, { recursive: true, mode: 0o755 });
  ctx.log('stage', `copying ${shownAs} (with this machine's hardware configuration) to ${etcNixos}`);
  let snapshot;
  try {
    snapshot = await copySnapshot(ctx, source, staging);
    await makeOwnerWritable(staging, snapshot);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }

  let backup: string | null = null;
  const existing = await readdir(etcNixos).catch(() => null);
  if (existing !== null && existing.length > 0) {
    backup = backupPath(etcNixos, new Date());
    await rename(etcNixos, backup);
    ctx.log('stage', `kept the existing ${etcNixos} as ${backup}`, 'warn');
  } else if (existing !== null) {
    await rmdir(etcNixos);
  }
  await rename(staging, etcNixos);
  const files = snapshot.entries.filter((e) => e.kind === 'file').length;
  ctx.log('stage', `copied ${files} files (${snapshot.bytes} bytes) to ${etcNixos}`);
  return { etcNixos, backup, files, bytes: snapshot.bytes };
}
