// Stage `report`: the full install log goes to the installed system's /var/log, so what
// happened during the install can be read after the first boot. The log of an
// earlier install there is kept beside it, as /etc/nixos is. By now the
// target's own activation has run and may have made links there (an
// impermanence setup links /var/log elsewhere): the log is written beneath
// descriptors, never through a link, and a link at install.log is replaced.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Beneath, withDir } from '../fs/beneath.js';
import { freeBackupName } from '../common/backup-name.js';

const LOG_FOLDER = 'nixos-offline-installer';
export const TARGET_LOG_DIR = `var/log/${LOG_FOLDER}`;
const NAME = 'install.log';

export interface TargetLog {
  path: string;
  // Where the earlier install's log was kept, if there was one.
  kept: string | null;
}

// An earlier install.log (a file, not a link) is renamed after when it was
// written, never over another kept one; a link there is simply replaced.
async function keepEarlier(dir: Beneath): Promise<string | null> {
  const earlier = await dir.lstat(NAME);
  if (!earlier?.isFile()) return null;
  const kept = await freeBackupName(NAME, earlier.mtime, async (candidate) => (await dir.lstat(candidate)) !== null);
  await dir.rename(NAME, dir, kept);
  return kept;
}

export async function writeTargetLog(root: string, liveLog: string, installId: string): Promise<TargetLog> {
  const live = await open(liveLog, 'r');
  let kept: string | null = null;
  try {
    await withDir(Beneath.open(root, { rootOwned: true }), (target) =>
      withDir(target.dir('var/log', { create: 0o755 }), (varLog) =>
        withDir(varLog.dir(LOG_FOLDER, { create: 0o750 }), async (dir) => {
          // Written under a name of its own, then renamed over install.log: a link there is replaced, not followed.
          const temporary = `.${NAME}.${installId}`;
          await dir.remove(temporary);
          const copy = await dir.copyInto(live, temporary, 0o640);
          try {
            await copy.chmod(0o640);
          } finally {
            await copy.close();
          }
          kept = await keepEarlier(dir);
          await dir.rename(temporary, dir, NAME);
        }),
      ),
    );
  } finally {
    await live.close();
  }
  const folder = join(root, TARGET_LOG_DIR);
  return { path: join(folder, NAME), kept: kept === null ? null : join(folder, kept) };
}
