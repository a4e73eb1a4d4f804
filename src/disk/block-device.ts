// What the kernel says about a disk named in an answer file: that it exists,
// is a whole disk (not a partition), writable, and how large it is. Read from
// /sys, by the device's numbers, so /dev/disk/by-id links and /dev names agree.
import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AnswerError } from '../common/answers.js';
import { errorMessage } from '../common/install-error.js';
import { formatBytes } from './sizes.js';

export interface DiskInfo {
  // As the answer file names it.
  path: string;
  // The kernel's name (sda, nvme0n1, loop3) and its /dev node.
  name: string;
  device: string;
  sizeBytes: number;
  // A /dev/disk/by-id link to it when there is one (stable across boots), else the device.
  stablePath: string;
}

const SECTOR = 512;

export function majorMinor(rdev: number): string {
  // Linux's encoding of dev_t (glibc's gnu_dev_major/minor).
  const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  return `${major}:${minor}`;
}

async function readSys(path: string): Promise<string | null> {
  return readFile(path, 'utf8').then((text) => text.trim(), () => null);
}

// The kernel name of the block device with these numbers, from /sys/dev/block.
export async function blockName(numbers: string): Promise<string | null> {
  const target = await realpath(`/sys/dev/block/${numbers}`).catch(() => null);
  return target ? basename(target) : null;
}

// Disks on this machine, for an error that has to say which ones there are.
export async function listDisks(): Promise<string> {
  const names = await readdir('/sys/block').catch(() => [] as string[]);
  const disks: string[] = [];
  for (const name of names.sort()) {
    if (/^(ram|zram|loop)\d/.test(name) && !(name.startsWith('loop') && (await readSys(`/sys/block/${name}/loop/backing_file`)))) continue;
    const sectors = Number(await readSys(`/sys/block/${name}/size`));
    if (sectors > 0) disks.push(`/dev/${name} (${formatBytes(sectors * SECTOR)})`);
  }
  return disks.length > 0 ? disks.join(', ') : 'none found';
}

// A /dev/disk/by-id name for the disk, preferring the one the answer file used.
async function stablePath(path: string, name: string): Promise<string> {
  if (path.startsWith('/dev/disk/by-id/')) return path;
  const byId = '/dev/disk/by-id';
  const links = await readdir(byId).catch(() => [] as string[]);
  for (const link of links.sort()) {
    if (link.startsWith('wwn-')) continue;
    if (basename(await readlink(join(byId, link)).catch(() => '')) === name) return join(byId, link);
  }
  return `/dev/${name}`;
}

export async function inspectDisk(path: string): Promise<DiskInfo> {
  const fix = 'Name a whole disk in "disk" (ls -l /dev/disk/by-id, or lsblk -d, lists them), then start the install again. Nothing was written to any disk.';
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new AnswerError('disk', `The disk ${path} does not exist`, `"disk" names ${path}, which is not on this machine (${errorMessage(error)}). Disks here: ${await listDisks()}.\n${fix}`);
  }
  if (!info.isBlockDevice()) throw new AnswerError('disk', `${path} is not a disk`, `"disk" names ${path}, which is not a block device. ${fix}`);
  const name = await blockName(majorMinor(info.rdev));
  if (!name) throw new AnswerError('disk', `${path} is not a disk the kernel knows`, `The kernel lists no block device for ${path}. ${fix}`);
  const sys = `/sys/class/block/${name}`;
  if ((await readSys(join(sys, 'partition'))) !== null) {
    // The disk's folder holds the partition's: resolved first, as a lexical `..` would leave /sys/class/block.
    const parent = basename(dirname(await realpath(sys)));
    throw new AnswerError('disk', `${path} is a partition, not a disk`, `"disk" names the partition /dev/${name}; the installer partitions a whole disk. Name /dev/${parent} (or its /dev/disk/by-id link) instead. ${fix}`);
  }
  if ((await readSys(join(sys, 'ro'))) === '1') throw new AnswerError('disk', `The disk ${path} is read-only`, `The kernel reports /dev/${name} as read-only (a write-protected card, a CD or the installer medium). ${fix}`);
  const sizeBytes = Number(await readSys(join(sys, 'size'))) * SECTOR;
  if (!(sizeBytes > 0)) throw new AnswerError('disk', `The disk ${path} is empty`, `/dev/${name} has no space at all (no medium, or a loop device with no file). ${fix}`);
  return { path, name, device: `/dev/${name}`, sizeBytes, stablePath: await stablePath(path, name) };
}

// The kernel names of the disk's partitions (sda1, nvme0n1p2, loop3p1).
export async function partitionNames(name: string): Promise<string[]> {
  const entries = await readdir(`/sys/class/block/${name}`).catch(() => [] as string[]);
  const parts: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith(name) && (await readSys(`/sys/class/block/${name}/${entry}/partition`)) !== null) parts.push(entry);
  }
  return parts.sort();
}
