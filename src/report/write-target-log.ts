// Step 6: the full install log goes to the installed system's /var/log, so what
// happened during the install can be read after the first boot. By now the
// target's own activation has run and may have made links there (an
// impermanence setup links /var/log elsewhere): the log is written beneath
// descriptors, never through a link, and replaces whatever install.log was.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Beneath, withDir } from '../fs/beneath.js';

const LOG_FOLDER = 'nixos-offline-installer';
export const TARGET_LOG_DIR = `var/log/${LOG_FOLDER}`;
const NAME = 'install.log';

export async function writeTargetLog(root: string, liveLog: string, installId: string): Promise<string> {
  const live = await open(liveLog, 'r');
  try {
    const parents = await withDir(Beneath.open(root, { rootOwned: true }), (target) => target.dir('var/log', { create: 0o755 }));
    await withDir(Promise.resolve(parents), (varLog) =>
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
        await dir.rename(temporary, dir, NAME);
      }),
    );
  } finally {
    await live.close();
  }
  return join(root, TARGET_LOG_DIR, NAME);
}
