// Refuses a disk that something uses right now: the live medium (the disk the
// installer, its store or its configuration and answer file are read from, however
// many loop or device-mapper layers lie between), a disk with a mounted file
// system or active swap, or one another device is built on (LVM, RAID, LUKS).
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { AnswerError } from '../common/answers.js';
import { mounts, unescapeMount } from '../fs/mounts.js';
import { blockName, majorMinor, partitionNames, type DiskInfo } from './block-device.js';

async function readSys(path: string): Promise<string | null> {
  return readFile(path, 'utf8').then((text) => text.trim(), () => null);
}

// The whole disks a block device lives on: a partition's disk, a loop device's
// backing file's disk, a device-mapper or RAID device's members' disks.
export async function disksUnder(name: string, seen = new Set<string>()): Promise<Set<string>> {
  const disks = new Set<string>();
  if (seen.has(name)) return disks;
  seen.add(name);
  const sys = `/sys/class/block/${name}`;
  if ((await readSys(`${sys}/partition`)) !== null) {
    const parent = basename(await realpath(`${sys}/..`));
    for (const d of await disksUnder(parent, seen)) disks.add(d);
    return disks;
  }
  const slaves = await readdir(`${sys}/slaves`).catch(() => [] as string[]);
  for (const slave of slaves) for (const d of await disksUnder(slave, seen)) disks.add(d);
  const backing = await readSys(`${sys}/loop/backing_file`);
  if (backing) for (const d of await disksOfPath(backing.replace(/ \(deleted\)$/, ''), seen)) disks.add(d);
  disks.add(name);
  return disks;
}

// The disks the file system holding PATH lives on (none for tmpfs, overlays and the like).
export async function disksOfPath(path: string, seen = new Set<string>()): Promise<Set<string>> {
  const info = await stat(path).catch(() => null);
  if (!info) return new Set();
  const name = await blockName(majorMinor(info.dev));
  return name ? disksUnder(name, seen) : new Set();
}

async function swapDevices(): Promise<string[]> {
  const text = await readFile('/proc/swaps', 'utf8').catch(() => '');
  return text.split('\n').slice(1).map((line) => unescapeMount(line.split(/\s+/)[0] ?? '')).filter(Boolean);
}

export interface LiveUse {
  // What the live system reads from (/, /nix/store, the configuration folders, the answer file, the ISO).
  paths: readonly string[];
}

export async function checkDiskFree(disk: DiskInfo, live: LiveUse): Promise<void> {
  const fix = 'Name another disk in "disk" (lsblk shows what each holds), then start the install again. Nothing was written to any disk.';
  for (const path of live.paths) {
    if ((await disksOfPath(path)).has(disk.name)) {
      throw new AnswerError('disk', `${disk.path} is the live medium`, `${disk.device} holds ${path}, which the running installer reads from: installing onto it would destroy the installer itself. ${fix}`);
    }
  }

  const parts = await partitionNames(disk.name);
  const names = [disk.name, ...parts];
  const numbers = new Map<string, string>();
  for (const name of names) {
    const dev = await readSys(`/sys/class/block/${name}/dev`);
    if (dev) numbers.set(dev, name);
  }
  for (const mount of await mounts()) {
    const name = numbers.get(mount.numbers);
    if (name) throw new AnswerError('disk', `${disk.path} is in use: /dev/${name} is mounted`, `/dev/${name} is mounted at ${mount.mountPoint}. Unmount it first (umount ${mount.mountPoint}) if this is really the disk to erase. ${fix}`);
  }
  for (const swap of await swapDevices()) {
    const info = await stat(swap).catch(() => null);
    const name = info?.isBlockDevice() ? numbers.get(majorMinor(info.rdev)) : undefined;
    if (name) throw new AnswerError('disk', `${disk.path} is in use: /dev/${name} is active swap`, `Swap is on /dev/${name}. Turn it off first (swapoff /dev/${name}) if this is really the disk to erase. ${fix}`);
  }
  for (const name of names) {
    const holders = await readdir(`/sys/class/block/${name}/holders`).catch(() => [] as string[]);
    if (holders.length > 0) {
      const holder = holders[0]!;
      const mapped = await readSys(`/sys/class/block/${holder}/dm/name`);
      throw new AnswerError('disk', `${disk.path} is in use by /dev/${holder}`, `/dev/${name} is part of /dev/${holder}${mapped ? ` (/dev/mapper/${mapped})` : ''}, an LVM, RAID or LUKS device that is active. Close it first (e.g. cryptsetup close ${mapped ?? holder}, vgchange -an) if this is really the disk to erase. ${fix}`);
    }
  }
}
