// The target must be a mounted root that nixos-install will accept and that
// nobody but root can redirect, checked before anything is written to it
// (nixos-install refuses some of the same things, but only after the long copy).
// The path must already be its own real path: no link anywhere on it, so what
// is checked is what every later stage acts on; every folder on it is root's and
// not writable by others (sticky ones such as /tmp excepted above the target:
// Calamares mounts the target under /tmp/calamares-root-*), so nobody can swap
// it afterwards; the target itself is writable by root alone, and not a file
// system of the live system (proc, sysfs, tmpfs under /dev or /run...).
import { readFile, realpath, stat, statfs, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { notRootsOnly } from '../fs/beneath.js';
import { InstallError } from '../common/install-error.js';

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

// statfs(2) magic numbers (linux/magic.h) of file systems that are the live
// system's view of the kernel, never a disk: an install there lands in memory
// or in kernel objects.
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0x73636673, 'securityfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0xde5e81e4, 'efivarfs'],
  [0x19800202, 'mqueue'],
  [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
]);
// tmpfs (devtmpfs reports it too) and ramfs are memory; under these folders they are the live system's own.
const MEMORY_FILE_SYSTEMS = new Map<number, string>([
  [0x01021994, 'tmpfs'],
  [0x858458f6, 'ramfs'],
]);
const LIVE_FOLDERS = ['/dev', '/run', '/proc', '/sys'];

// Why ROOT's file system is the live system's, not a target's, or null.
export async function liveFileSystem(root: string): Promise<string | null> {
  const { type } = await statfs(root);
  const pseudo = PSEUDO_FILE_SYSTEMS.get(Number(type));
  if (pseudo) return `is on ${pseudo}, a file system of the running kernel`;
  const memory = MEMORY_FILE_SYSTEMS.get(Number(type));
  const live = LIVE_FOLDERS.find((dir) => root === dir || root.startsWith(`${dir}/`));
  if (memory && live) return `is on ${memory} under ${live}, the live system's memory`;
  return null;
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
  const live = await liveFileSystem(root);
  if (live) {
    throw new InstallError('target-live-file-system', `Target root ${root} ${live}`, `Installing there would write into the running system, not a disk. Mount the target's root partition at a folder such as /mnt and install there.`);
  }
  for (let dir = root; ; dir = dirname(dir)) {
    const folder = await stat(dir);
    // The target itself is root's alone: in a sticky folder others may still create <root>/nix before Nix does.
    // The sticky exception is for the folders above it (Calamares mounts under /tmp).
    const why = dir === root && (folder.mode & 0o022) !== 0 ? `is writable by ${(folder.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(folder.mode & 0o7777).toString(8).padStart(4, '0')})` : notRootsOnly(folder);
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
  await checkTargetFolders(root);
}

// TARGET_FOLDERS where they exist: real folders only root can change. Checked
// before the target is written, and again before nixos-install enters it.
export async function checkTargetFolders(root: string): Promise<void> {
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
