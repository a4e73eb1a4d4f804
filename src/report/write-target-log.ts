// Step 6: the full install log goes to the installed system's /var/log, so what
// happened during the install can be read after the first boot. The log of an
// earlier install there is kept beside it, as /etc/nixos is.
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { backupPath } from '../step/backup-name.js';

export const TARGET_LOG_DIR = 'var/log/nixos-offline-installer';

export interface TargetLog {
  path: string;
  // Where the earlier install's log was kept, if there was one.
  kept: string | null;
}

// Named after when the earlier log was written, and never over another kept one.
async function keepEarlier(target: string): Promise<string | null> {
  const earlier = await stat(target).catch(() => null);
  if (!earlier) return null;
  const base = backupPath(target, earlier.mtime);
  for (let n = 0; ; n++) {
    const kept = n === 0 ? base : `${base}-${n}`;
    if (await stat(kept).catch(() => null)) continue;
    await rename(target, kept);
    return kept;
  }
}

export async function writeTargetLog(root: string, liveLog: string): Promise<TargetLog> {
  const dir = join(root, TARGET_LOG_DIR);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const target = join(dir, 'install.log');
  const kept = await keepEarlier(target);
  await copyFile(liveLog, target);
  return { path: target, kept };
}
