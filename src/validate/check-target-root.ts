// The target must be a mounted root that nixos-install will accept and that
// nobody but root can redirect, checked before anything is written to it
// (nixos-install refuses some of the same things, but only after the long copy).
// The path must already be its own real path: no link anywhere on it, so what
// is checked is what every later step acts on; every folder on it is root's and
// not writable by others (sticky ones such as /tmp excepted: Calamares mounts
// the target under /tmp/calamares-root-*), so nobody can swap it afterwards.
import { readFile, realpath, stat, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { notRootsOnly } from '../fs/beneath.js';
import { InstallError } from '../step/install-error.js';

// Folders in the target that Nix, nixos-install or the installer write into:
// where they exist they must be real folders only root can change, or a
// write "into the target" could be sent elsewhere through them.
export const TARGET_FOLDERS = ['etc', 'var', 'var/log', 'nix', 'nix/store', 'nix/var', 'nix/var/nix', 'nix/var/nix/db', 'nix/var/nix/profiles', 'boot', 'tmp'] as const;

export interface TargetRules {
  // Tests and demos install into a scratch folder; the Calamares module never sets this.
  allowUnmounted?: boolean;
}

// Mount points as /proc/self/mountinfo lists them (field 5, with \ooo escapes).
export function mountPoints(mountinfo: string): Set<string> {
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.add(field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  }
  return points;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return mountPoints(await readFile('/proc/self/mountinfo', 'utf8')).has(path);
}

function unsafe(path: string, why: string, fix: string): InstallError {
  return new InstallError('target-unsafe', `${path} ${why}`, `The installer acts as root on the target and refuses paths that someone else could redirect. ${fix}`);
}

export async function checkTargetRoot(root: string, rules: TargetRules = {}): Promise<void> {
  if (root === '/') {
    throw new InstallError('target-is-live-root', 'The target root is /', 'Installing onto the running live system is refused. Mount the target partitions under a folder such as /mnt and install there.');
  }
  const info = await lstat(root).catch(() => null);
  if (!info) {
    throw new InstallError(
      'target-missing',
      `Target root ${root} does not exist`,
      `There is no folder ${root}. Partition the target disk and mount its root partition there first (Calamares does this on its partition page; by hand: mkdir -p ${root} && mount /dev/<root partition> ${root}), then start the install again.`,
    );
  }
  const real = await realpath(root).catch(() => root);
  if (info.isSymbolicLink() || real !== root) {
    throw new InstallError(
      'target-not-plain',
      `Target root ${root} leads through a symbolic link`,
      `${root} is really ${real}. The installer acts only on a target given by its real path, with no link on the way. Mount the target at a plain folder such as /mnt and give that path.`,
    );
  }
  if (!info.isDirectory()) {
    throw new InstallError('target-not-a-folder', `Target root ${root} is not a folder`, `${root} exists but is a file or another non-folder. Give the folder where the target's root partition is mounted, such as /mnt.`);
  }
  if (info.uid !== 0 || info.gid !== 0) {
    throw new InstallError('target-owner', `Target root ${root} is not owned by root`, `nixos-install requires root:root ownership. Run: chown root:root ${root}`);
  }
  for (let dir = root; ; dir = dirname(dir)) {
    const folder = await stat(dir);
    const why = notRootsOnly(folder);
    if (why) throw unsafe(dir, why, `Mount the target at a folder whose every parent belongs to root and is not writable by others (such as /mnt), or fix ${dir}: chown root:root ${dir} && chmod go-w ${dir}`);
    // nixos-install's own rule: every folder up to / must let others enter it.
    if ((folder.mode & 0o7) < 5) {
      throw new InstallError('target-permissions', `Folder ${dir} is not readable by others`, `nixos-install needs every folder on the way to the target to have permissions like 755. Run: chmod o+rx ${dir}`);
    }
    if (dir === '/') break;
  }
  if (!rules.allowUnmounted && !(await isMountPoint(root))) {
    throw new InstallError(
      'target-not-mounted',
      `Nothing is mounted at ${root}`,
      `${root} is a folder of the live system, not a mounted disk: the system would be copied into the live system's memory until it runs out. ` +
        `Mount the target's root partition there first (Calamares does this on its partition page; by hand: mount /dev/<root partition> ${root}, and its boot partition at ${join(root, 'boot')}), then start the install again.`,
    );
  }
  for (const rel of TARGET_FOLDERS) {
    const path = join(root, rel);
    const entry = await lstat(path).catch(() => null);
    if (!entry) continue;
    if (entry.isSymbolicLink()) throw unsafe(path, 'is a symbolic link', `On the target ${rel} must be a real folder; a link there would lead the install out of ${root}. Remove the link, or install onto an empty partition.`);
    if (!entry.isDirectory()) throw unsafe(path, 'is not a folder', `Remove ${path}, or install onto an empty partition.`);
    const why = notRootsOnly(entry);
    if (why) throw unsafe(path, why, `Run: chown root:root ${path} && chmod go-w ${path}, or install onto an empty partition.`);
  }
}
