// Real disks for the unattended tests: a sparse image attached with losetup.
// The loop driver here has max_part=0, so partitions appear only after
// partx (the installer runs it; so do the helpers that make partitioned disks).
// Detaching undoes whatever is still active on the device first (swap, mounts),
// so a failed test never leaves a loop device behind.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanUp, type RunningDaemon } from './daemon.js';

export interface LoopDisk {
  image: string;
  device: string;
}

// A system tool's output (throws on a non-zero exit, with its stderr).
export function run(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(input !== undefined && { input }) });
}

// Whether a tool runs here at all (exit status 0).
export function canRun(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// /proc/misc, not /dev/mapper/control: libdevmapper creates that node even where the kernel lacks device-mapper.
const hasModule = (m: string) => existsSync(`/sys/module/${m}`) || canRun('modprobe', ['--dry-run', '--quiet', m]);
// Why LUKS cannot be opened on this machine, or null where it can.
export const NO_DM = (/\sdevice-mapper$/m.test(readFileSync('/proc/misc', 'utf8')) || hasModule('dm_mod')) && hasModule('dm_crypt') ? null : 'this kernel has no device-mapper with dm-crypt, so LUKS cannot be opened';

// Nothing on the disk any tool recognises (no table, no file system).
export const isBlank = (disk: LoopDisk) => run('wipefs', ['--no-act', disk.device]).trim() === '';

const attached = new Set<LoopDisk>();

export async function attachDisk(dir: string, name: string, bytes: number): Promise<LoopDisk> {
  const image = join(dir, `${name}.img`);
  await writeFile(image, '');
  await truncate(image, bytes);
  const device = run('losetup', ['--find', '--show', image]).trim();
  const disk = { image, device };
  attached.add(disk);
  return disk;
}

function unescape(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

// Mount points and swaps that use the disk or one of its partitions.
export function activeUses(device: string): { mounts: string[]; swaps: string[] } {
  const ours = (source: string) => source === device || source.startsWith(`${device}p`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      return { where: unescape(fields[4]!), source: unescape(fields[fields.indexOf('-') + 2] ?? '') };
    })
    .filter((m) => ours(m.source))
    .map((m) => m.where);
  const swaps = readFileSync('/proc/swaps', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s+/)[0]!)
    .filter((s) => s && ours(s));
  return { mounts, swaps };
}

export async function detachDisk(disk: LoopDisk): Promise<void> {
  const { mounts, swaps } = activeUses(disk.device);
  for (const swap of swaps) run('swapoff', [swap]);
  for (const where of mounts.reverse()) run('umount', [where]);
  try {
    run('partx', ['--delete', disk.device]);
  } catch {
    // No partitions known to the kernel.
  }
  run('losetup', ['--detach', disk.device]);
  attached.delete(disk);
}

export async function detachAll(): Promise<void> {
  for (const disk of [...attached]) await detachDisk(disk);
}

// After a disk test, even a failed one: its daemon stopped, every loop disk detached, its scratch folder gone.
export async function endDiskTest(dir: string, daemon: RunningDaemon | null): Promise<void> {
  try {
    await daemon?.stop();
  } finally {
    await detachAll();
    await cleanUp(dir, null);
  }
}

export interface TablePartition {
  node: string;
  start: number;
  size: number;
  type: string;
  name?: string;
}

export function partitionTable(device: string): { label: string; partitions: TablePartition[] } {
  const table = JSON.parse(run('sfdisk', ['--json', device])).partitiontable;
  return { label: table.label, partitions: table.partitions ?? [] };
}

// blkid's view of a device (TYPE, LABEL, UUID, ...), probing it directly.
export function blkid(node: string): Record<string, string> {
  const out = run('blkid', ['--probe', '--output', 'export', node]);
  return Object.fromEntries(out.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

// A disk that already holds a partition table and an ext4 file system.
export function writeOldSystem(device: string): void {
  run('sfdisk', ['--quiet', device], 'label: gpt\ntype=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="old"\n');
  run('partx', ['--update', device]);
  waitForNode(`${device}p1`);
  run('mkfs.ext4', ['-F', '-q', '-L', 'old-data', `${device}p1`]);
}

// The kernel's devtmpfs makes a new partition's node in its own thread, after
// partx has returned (seen once in CI): wait up to 5 s, as the installer does.
function waitForNode(node: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; !existsSync(node); waited += 50) {
    if (waited >= 5000) throw new Error(`${node} did not appear within 5 s of partx --update`);
    Atomics.wait(pause, 0, 0, 50);
  }
}

export async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// Mounts NODE read-only at DIR/name for FN, and always unmounts it.
export async function withReadOnly<T>(node: string, dir: string, name: string, fn: (root: string) => Promise<T>): Promise<T> {
  const where = join(dir, name);
  await mkdir(where, { recursive: true });
  run('mount', ['-o', 'ro', node, where]);
  try {
    return await fn(where);
  } finally {
    run('umount', [where]);
  }
}
