// Stage `stage`: copy the configuration folder to <root>/etc/nixos. The copy goes to a
// staging folder on the target first and counts only if the source did not
// change while it was copied (a technician may be editing /tmp/nix-cfg), so the
// target never gets a mix of two versions. An existing /etc/nixos is kept as a
// timestamped backup. The source is only ever read; everything on the target
// is done beneath descriptors, never through a link (src/fs/beneath.ts).
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Beneath, withDir } from '../fs/beneath.js';
import type { JobContext } from '../common/context.js';
import { freeBackupName } from '../common/backup-name.js';
import { isOwnStaging, markOwnStaging } from './own-staging.js';
import { copyWithRetries, type SourceKind } from '../snapshot/copy-with-retries.js';
import type { SourceScan } from '../snapshot/scan-source.js';

export interface StagedConfig {
  etcNixos: string;
  backup: string | null;
  files: number;
  bytes: number;
}

// Moves an existing etc/nixos out of the way: an empty folder is removed, anything else kept as a backup.
async function keepExisting(ctx: JobContext, etc: Beneath): Promise<string | null> {
  if ((await etc.lstat('nixos')) === null) return null;
  try {
    await rmdir(etc.at('nixos'));
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
  }
  if (await isOwnStaging(etc)) {
    await etc.remove('nixos');
    ctx.log('stage', `replacing ${join(ctx.root, 'etc/nixos')}: an earlier install staged it, unchanged since (no backup of it)`);
    return null;
  }
  const name = await freeBackupName('nixos', new Date(), async (candidate) => (await etc.lstat(candidate)) !== null);
  await etc.rename('nixos', etc, name);
  const backup = join(ctx.root, 'etc', name);
  ctx.log('stage', `kept the existing ${join(ctx.root, 'etc/nixos')} as ${backup}`, 'warn');
  return backup;
}

// SOURCE is the prepared copy (KIND: the installer's own, root's alone); SHOWN_AS the folder the person knows it as.
export async function stageConfig(ctx: JobContext, source: string, shownAs: string = source, kind: SourceKind = 'shared'): Promise<StagedConfig> {
  const etcNixos = join(ctx.root, 'etc', 'nixos');
  const staging = `.nixos.staging-${ctx.installId}`;
  ctx.log('stage', `copying ${shownAs} (with this machine's hardware configuration) to ${etcNixos}`);
  return withDir(Beneath.open(ctx.root, { rootOwned: true }), (root) =>
    withDir(root.dir('etc', { create: 0o755 }), async (etc) => {
      let snapshot: SourceScan;
      let backup: string | null;
      try {
        snapshot = await copyWithRetries(ctx, source, kind, etc, staging);
        backup = await keepExisting(ctx, etc);
        await etc.rename(staging, etc, 'nixos');
      } catch (error) {
        // Never a half-staged folder left behind on the target.
        await etc.remove(staging);
        throw error;
      }
      const files = snapshot.entries.filter((e) => e.kind === 'file').length;
      ctx.log('stage', `copied ${files} files (${snapshot.bytes} bytes) to ${etcNixos}`);
      return { etcNixos, backup, files, bytes: snapshot.bytes };
    }),
  );
}

// Once the staged folder is final (modes of secrets set): recorded as the installer's own.
export async function markStagedConfig(ctx: JobContext): Promise<void> {
  await withDir(Beneath.open(ctx.root, { rootOwned: true }), (root) => withDir(root.dir('etc'), (etc) => markOwnStaging(etc)));
}
