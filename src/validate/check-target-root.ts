// The target must be a mounted root that nixos-install will accept, checked
// before anything is written to it (nixos-install refuses the same things, but
// only after the long copy).
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InstallError } from '../step/install-error.js';

export async function checkTargetRoot(root: string): Promise<void> {
  if (resolve(root) === '/') {
    throw new InstallError('target-is-live-root', 'The target root is /', 'Installing onto the running live system is refused. Mount the target partitions under a folder such as /mnt and install there.');
  }
  const info = await stat(root).catch(() => null);
  if (!info || !info.isDirectory()) {
    throw new InstallError(
      'target-missing',
      `Target root ${root} does not exist`,
      `Nothing is mounted at ${root}. Partition and mount the target disk first (Calamares does this on its partition page; by hand: mount /dev/<root partition> ${root}), then start the install again.`,
    );
  }
  if (info.uid !== 0 || info.gid !== 0) {
    throw new InstallError('target-owner', `Target root ${root} is not owned by root`, `nixos-install requires root:root ownership. Run: chown root:root ${root}`);
  }
  // nixos-install's own rule: every folder up to / must let others enter it.
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode & 0o7;
    if (mode < 5) {
      throw new InstallError('target-permissions', `Folder ${dir} is not readable by others`, `nixos-install needs every folder on the way to the target to have permissions like 755. Run: chmod o+rx ${dir}`);
    }
    if (dir === '/') break;
  }
}
