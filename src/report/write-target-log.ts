// Step 6: the full install log goes to the installed system's /var/log, so what
// happened during the install can be read after the first boot.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export const TARGET_LOG_DIR = 'var/log/nixos-offline-installer';

export async function writeTargetLog(root: string, liveLog: string): Promise<string> {
  const dir = join(root, TARGET_LOG_DIR);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const target = join(dir, 'install.log');
  await copyFile(liveLog, target);
  return target;
}
