// A configuration that describes its disks with disko: its own prebuilt
// scripts partition, format and mount the disk, in place of the answer file's
// layout. disko writes each disk's `device` into the scripts
// (disko.devices.disk.<name>.device), so the answer file's disk must be that
// very device; disko-install re-evaluates the configuration to change it,
// which cannot happen offline. Checked before the disk is touched, as the
// layouts' disks are; afterwards the mounts are read back, never assumed.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { AnswerError, type Answers } from '../common/answers.js';
import type { DiskoFacts } from '../protocol/config-facts.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import { majorMinor, partitionNames, type DiskInfo } from './block-device.js';
import { mounts } from '../fs/mounts.js';
import { disksOfPath } from './disk-in-use.js';
import type { DiskSession } from './disk-session.js';

export interface DiskoPlan {
  facts: DiskoFacts;
  // disko.devices.disk.<name>, and its device as written into the scripts.
  diskName: string;
  device: string;
  // Where the scripts come from: the ISO manifest (built with the ISO), or built now from the folder.
  origin: 'manifest' | 'built';
}

const NOTHING_WRITTEN = 'Nothing was written to any disk.';
// Top-level folders of the live system a new system must not be mounted in (/mnt, /tmp/... and /run/... may be).
const LIVE_SYSTEM_DIRS = ['nix', 'iso', 'proc', 'sys', 'dev', 'etc', 'usr', 'bin', 'sbin', 'lib', 'lib64', 'boot', 'var', 'root', 'home', 'srv'];

function under(path: string, dir: string): boolean {
  return dir === '/' ? true : path === dir || path.startsWith(`${dir}/`);
}

// With a disko layout the answer file names the disk only: the layout is the configuration's.
export function refuseLayoutWithDisko(answers: Answers, source: string): void {
  if (answers.layout === null) return;
  throw new AnswerError(
    'layout',
    `${answers.file}: "layout" is not used: the layout comes from disko`,
    `The configuration in ${source} describes its disks with disko (disko.devices), so its own scripts partition and format the disk, and its file systems are disko's. Remove "layout" from ${answers.file} (to use the answer file's layout instead, remove disko from the configuration and rebuild the ISO). ${NOTHING_WRITTEN}`,
  );
}

// Without disko the answer file must say how to partition.
export function refuseMissingLayout(answers: Answers, source: string): void {
  if (answers.layout !== null) return;
  throw new AnswerError(
    'layout',
    `${answers.file}: "layout" is missing`,
    `The configuration in ${source} does not describe its disks with disko (no disko.devices.disk), so the answer file must choose a layout, e.g. "layout": "efi-ext4" (efi-ext4 or bios-ext4). Fix "layout" in ${answers.file}, then start the install again. ${NOTHING_WRITTEN}`,
  );
}

async function deviceNumbers(path: string): Promise<string | null> {
  const info = await stat(path).catch(() => null);
  return info?.isBlockDevice() ? majorMinor(info.rdev) : null;
}

// The layout's one disk (name, device): an answer file names one disk, and disko's scripts would erase any other too.
export function oneDiskoDisk(facts: DiskoFacts, source: string): [string, string] {
  const disks = Object.entries(facts.disks);
  if (disks.length !== 1) {
    throw new AnswerError('disk', `The disko layout has ${disks.length} disks; the unattended install takes one`, `The configuration in ${source} declares disko.devices.disk.${disks.map(([name]) => name).join(', disko.devices.disk.')}. An answer file names one disk, and disko's scripts would erase the others too, which nothing here has checked. Install configurations with one disk in disko.devices.disk unattended. ${NOTHING_WRITTEN}`);
  }
  return disks[0]!;
}

// The disko disk the answer file's disk is: one disk in the layout, whose device is the same block device.
export async function matchDiskoDisk(facts: DiskoFacts, disk: DiskInfo, answers: Answers, source: string, origin: DiskoPlan['origin']): Promise<DiskoPlan> {
  const fix = `Either set disko.devices.disk.<name>.device in the configuration to this machine's disk (a /dev/disk/by-id/... name is the same on every machine of a batch only if the disks are; /dev/nvme0n1 or /dev/sda when every machine has the same)${origin === 'manifest' ? ' and rebuild the ISO' : ''}, or name that device in "disk" in ${answers.file}. ${NOTHING_WRITTEN}`;
  const [diskName, device] = oneDiskoDisk(facts, source);
  const numbers = await deviceNumbers(device);
  const wanted = await deviceNumbers(disk.device);
  if (numbers === null) {
    throw new AnswerError('disk', `The disko disk ${device} is not on this machine`, `disko.devices.disk.${diskName}.device is ${device}, written into the configuration's disko scripts, but there is no such block device here, so the scripts cannot partition ${disk.path}. ${fix}`);
  }
  if (numbers !== wanted) {
    const resolved = await realpath(device).catch(() => device);
    throw new AnswerError('disk', `${disk.path} is not the disko disk ${device}`, `"disk" names ${disk.path} (${disk.device}), but disko.devices.disk.${diskName}.device is ${device} (${resolved}), which the configuration's disko scripts partition. ${fix}`);
  }
  return { facts, diskName, device, origin };
}

// disko's mount script mounts at rootMountPoint (and its destroy would unmount
// whatever is there): it must be a folder nothing is mounted at or below, and not
// one the live system runs from.
export async function checkRootMountPoint(facts: DiskoFacts, source: string): Promise<void> {
  const root = facts.rootMountPoint;
  const refuse = (why: string) =>
    new AnswerError('disk', `disko's rootMountPoint ${root} cannot be used`, `${why} Set disko.rootMountPoint in the configuration to an empty folder such as /mnt (disko's default), or unmount what is there. ${NOTHING_WRITTEN}`);
  const dirs = root.split('/').filter(Boolean);
  if (dirs.length === 0 || LIVE_SYSTEM_DIRS.includes(dirs[0]!) || (dirs[0] === 'run' && dirs.length === 1)) throw refuse(`disko.rootMountPoint is ${root}, which is (or is inside) a folder the live system itself uses.`);
  for (const mount of await mounts()) {
    if (under(mount.mountPoint, root)) throw refuse(`${mount.mountPoint} is mounted (${mount.source}), at or below where disko would mount the new system.`);
  }
  const info = await stat(root).catch(() => null);
  if (info && !info.isDirectory()) throw refuse(`${root} exists and is not a folder.`);
  if (info && (await readdir(root)).length > 0) throw refuse(`${root} is not empty.`);
  // Mount points are compared as the kernel lists them: no symbolic link on the way.
  if (info && (await realpath(root)) !== root) throw refuse(`${root} is reached through a symbolic link (it is ${await realpath(root)}).`);
  if (under(source, root)) throw refuse(`The configuration ${source} is below it.`);
}

// What disko's destroy step does for a disk nothing uses (its own disk-deactivate:
// wipefs on each partition, then on the disk): old file systems go, so that
// the format script, which skips a partition that already holds one, makes new ones.
export async function eraseForDisko(ctx: CommandContext, disk: DiskInfo): Promise<void> {
  // The kernel's view of the old table (a loop device shows none until asked).
  await runStageCommand(ctx, { file: 'partx', args: ['--update', disk.device], failure: () => new InstallError('partition-reread', '', '') }).catch((error: unknown) => {
    if (!(error instanceof InstallError) || error.code !== 'partition-reread') throw error;
  });
  const nodes = [...(await partitionNames(disk.name)).map((name) => `/dev/${name}`), disk.device];
  for (const node of nodes) {
    ctx.log('partition', `erasing the signatures on ${node} ("wipe": true), as disko's destroy step does`);
    await runStageCommand(ctx, {
      file: 'wipefs',
      args: ['--all', node],
      failure: (r) => new InstallError('partition-failed', `${disk.path} could not be erased`, `wipefs --all ${node} exited with ${r.exitCode}:\n${lastLines(ctx, 'wipefs')}\nIs something on the disk in use? Check lsblk ${disk.device}.`),
    });
  }
}

// Runs one of disko's scripts as it is (no arguments; it sets its own PATH), every line it prints logged under "disko".
export async function runDiskoScript(ctx: CommandContext, script: string, what: string, disk: DiskInfo): Promise<void> {
  ctx.log('disko', `running the configuration's disko ${what} script ${script}`);
  await runStageCommand(ctx, {
    file: script,
    args: [],
    source: 'disko',
    failure: (r) =>
      new InstallError(
        what === 'mount' ? 'mount-failed' : 'format-failed',
        `The configuration's disko ${what} script failed`,
        `${script} exited with ${r.exitCode}:\n${lastLines(ctx, 'disko')}\nIts whole output is in the install log. ${disk.path} may be partly ${what === 'mount' ? 'formatted' : 'partitioned'}; fix the disko settings (or the disk) and start the install again (the answer file needs "wipe": true now).`,
      ),
  });
}

async function readSys(path: string): Promise<string | null> {
  return readFile(path, 'utf8').then((text) => text.trim(), () => null);
}

// The disk's partitions and the device-mapper devices on them (LUKS that disko opened), by device numbers.
async function layoutDevices(diskName: string): Promise<{ numbers: Set<string>; mappers: string[] }> {
  const numbers = new Set<string>();
  const mappers: string[] = [];
  for (const name of [diskName, ...(await partitionNames(diskName))]) {
    const dev = await readSys(`/sys/class/block/${name}/dev`);
    if (dev) numbers.add(dev);
    for (const holder of await readdir(`/sys/class/block/${name}/holders`).catch(() => [] as string[])) {
      const dm = await readSys(`/sys/class/block/${holder}/dm/name`);
      const holderDev = await readSys(`/sys/class/block/${holder}/dev`);
      if (holderDev) numbers.add(holderDev);
      if (dm) mappers.push(dm);
    }
  }
  return { numbers, mappers };
}

// Whatever disko's scripts left active (mounts at or below rootMountPoint, swap
// and opened LUKS devices on the disk) joins the session, for the release.
export async function adoptDiskoUses(ctx: CommandContext, session: DiskSession): Promise<void> {
  const { disko } = session;
  if (!disko) return;
  // In mount order, so the release (newest first) unmounts nested ones first.
  for (const mount of await mounts()) {
    if (under(mount.mountPoint, disko.rootMountPoint) && !session.mounts.includes(mount.mountPoint)) session.mounts.push(mount.mountPoint);
  }
  const { numbers, mappers } = await layoutDevices(disko.diskName);
  const swaps = (await readFile('/proc/swaps', 'utf8').catch(() => '')).split('\n').slice(1).map((line) => line.split(/\s+/)[0] ?? '').filter(Boolean);
  for (const swap of swaps) {
    const dev = await deviceNumbers(swap);
    if (dev && numbers.has(dev) && !session.swaps.includes(swap)) session.swaps.push(swap);
  }
  for (const mapper of mappers) if (!session.mappers.includes(mapper)) session.mappers.push(mapper);
  if (session.mounts.length + session.swaps.length + session.mappers.length > 0) {
    ctx.log('release', `disko's layout left active: ${[...session.mounts, ...session.swaps, ...session.mappers.map((m) => `/dev/mapper/${m}`)].join(', ')}`);
  }
}

// After the mount script: the new root is mounted at rootMountPoint, from the disk.
export async function checkDiskoMounted(ctx: CommandContext, session: DiskSession, disk: DiskInfo): Promise<void> {
  await adoptDiskoUses(ctx, session);
  const root = session.mountPoint;
  if (!(await mounts()).some((m) => m.mountPoint === root)) {
    throw new InstallError('mount-failed', `disko mounted nothing at ${root}`, `The configuration's disko mount script ran, but nothing is mounted at its rootMountPoint ${root}: the layout needs a file system with mountpoint = "/". Fix the disko settings, then start the install again (with "wipe": true).`);
  }
  if (!(await disksOfPath(root)).has(disk.name)) {
    throw new InstallError('mount-failed', `The root mounted at ${root} is not on ${disk.path}`, `disko mounted a file system at ${root} that is not on ${disk.device}. Check disko.devices in the configuration, then start the install again.`);
  }
  ctx.log('mount', `disko mounted the target at ${root}: ${session.mounts.join(', ')}${session.swaps.length > 0 ? `; swap on ${session.swaps.join(', ')}` : ''}`);
}
