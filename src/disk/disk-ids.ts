// The identities of an installed disk, for a fleet target's receipt: its
// partition table's UUID and each partition's PARTUUID, label, file system
// type and UUID, read back from the disk by blkid's own probe. Not lsblk: it
// takes these from udev's database, which a machine without udevd (a test
// bed, an early netboot) lacks, and then shows none.
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import type { DiskInfo } from './block-device.js';
import { readPartitionTable } from './partition.js';

export interface PartitionIds {
  device: string;
  partuuid: string | null;
  partlabel: string | null;
  // The file system (or LUKS) on it, as blkid names it, and that file system's UUID.
  type: string | null;
  uuid: string | null;
}

export interface DiskIds {
  device: string;
  pttype: string | null;
  ptuuid: string | null;
  partitions: PartitionIds[];
}

// blkid -o export: blocks of KEY=value lines, one per device, each starting with DEVNAME; values shell-escaped
// (a label "BIOS boot" is BIOS\ boot).
export function parseBlkidExport(text: string): Map<string, Record<string, string>> {
  const devices = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    const cut = line.indexOf('=');
    if (cut < 1) continue;
    const key = line.slice(0, cut);
    const value = line.slice(cut + 1).replace(/\\(.)/g, '$1');
    if (key === 'DEVNAME') devices.set(value, (current = {}));
    else if (current) current[key] = value;
  }
  return devices;
}

export async function readDiskIds(ctx: CommandContext, disk: DiskInfo): Promise<DiskIds> {
  const nodes = (await readPartitionTable(ctx, disk)).partitions.map((p) => p.node);
  // -c /dev/null: probe the devices now, never a cache written before they were formatted.
  const result = await runStageCommand(ctx, {
    file: 'blkid',
    args: ['-c', '/dev/null', '-o', 'export', '--', disk.device, ...nodes],
    captureStdout: true,
    logStdout: false,
    failure: (r) => new InstallError('disk-unreadable', `The partitions of ${disk.path} could not be identified`, `blkid ${disk.device} ${nodes.join(' ')} exited with ${r.exitCode}:\n${lastLines(ctx, 'blkid')}`),
  });
  const found = parseBlkidExport(result.stdout.join('\n'));
  const of = (device: string, key: string): string | null => found.get(device)?.[key] ?? null;
  return {
    device: disk.device,
    pttype: of(disk.device, 'PTTYPE'),
    ptuuid: of(disk.device, 'PTUUID'),
    partitions: nodes.map((device) => ({ device, partuuid: of(device, 'PARTUUID'), partlabel: of(device, 'PARTLABEL'), type: of(device, 'TYPE'), uuid: of(device, 'UUID') })),
  };
}
