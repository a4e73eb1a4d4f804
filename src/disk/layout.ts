// The partition tables of the answer file's layouts, and the disk size each
// needs. GPT either way: efi-ext4 has an EFI system partition (mounted at
// /boot, as the NixOS manual does it), bios-ext4 a BIOS boot partition where
// GRUB puts its core image on a GPT disk. Type GUIDs, not sfdisk's aliases,
// so every util-linux version reads the script the same.
import type { Layout } from '../common/answers.js';
import { PARTITION_NAMES } from './planned-file-systems.js';
import { GiB, MiB, formatBytes } from './sizes.js';

export type PartitionRole = 'esp' | 'bios-boot' | 'swap' | 'root';

export interface PlannedPartition {
  role: PartitionRole;
  // null: the rest of the disk.
  sizeBytes: number | null;
  typeGuid: string;
  // The GPT partition name.
  label: string;
}

export const GPT_TYPES = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  'bios-boot': '21686148-6449-6E6F-744E-656564454649',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  root: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

export const ESP_BYTES = GiB;
export const BIOS_BOOT_BYTES = MiB;
// The first MiB (alignment) and the backup GPT at the end.
const GPT_OVERHEAD_BYTES = 2 * MiB;
// Room beyond the closure for what the system writes and rebuilds (a new
// generation, /var, /home): as much again as the closure, at least 1 GiB.
export const MIN_BUILD_HEADROOM_BYTES = GiB;

export function planPartitions(layout: Layout): PlannedPartition[] {
  const boot: PlannedPartition =
    layout.type === 'efi-ext4'
      ? { role: 'esp', sizeBytes: ESP_BYTES, typeGuid: GPT_TYPES.esp, label: PARTITION_NAMES.esp }
      : { role: 'bios-boot', sizeBytes: BIOS_BOOT_BYTES, typeGuid: GPT_TYPES['bios-boot'], label: PARTITION_NAMES.biosBoot };
  return [
    boot,
    ...(layout.swapBytes > 0 ? [{ role: 'swap' as const, sizeBytes: layout.swapBytes, typeGuid: GPT_TYPES.swap, label: PARTITION_NAMES.swap }] : []),
    // Last, so it takes the rest of the disk.
    { role: 'root', sizeBytes: null, typeGuid: GPT_TYPES.root, label: PARTITION_NAMES.root },
  ];
}

// sfdisk's input: one line per partition, sizes in MiB (every size is a whole number of MiB).
export function sfdiskScript(plan: readonly PlannedPartition[]): string {
  const lines = ['label: gpt'];
  for (const p of plan) {
    const size = p.sizeBytes === null ? '' : `size=${p.sizeBytes / MiB}MiB, `;
    lines.push(`${size}type=${p.typeGuid}, name="${p.label}"`);
  }
  return `${lines.join('\n')}\n`;
}

export interface SizeNeed {
  totalBytes: number;
  closureBytes: number;
  headroomBytes: number;
  // What the layout itself takes: boot partition, swap, partition table.
  fixedBytes: number;
  explanation: string;
}

// LAYOUT null: a disko layout, whose partitions' sizes the installer does not know (only the system's part is counted).
export function diskNeed(layout: Layout | null, closureBytes: number): SizeNeed {
  const headroomBytes = Math.max(closureBytes, MIN_BUILD_HEADROOM_BYTES);
  const boot = layout === null ? 0 : layout.type === 'efi-ext4' ? ESP_BYTES : BIOS_BOOT_BYTES;
  const swapBytes = layout?.swapBytes ?? 0;
  const fixedBytes = GPT_OVERHEAD_BYTES + boot + swapBytes;
  const parts = [
    `the system's closure ${formatBytes(closureBytes)}`,
    `build headroom ${formatBytes(headroomBytes)}`,
    ...(layout === null ? [] : [layout.type === 'efi-ext4' ? `the EFI system partition ${formatBytes(boot)}` : `the BIOS boot partition ${formatBytes(boot)}`]),
    ...(swapBytes > 0 ? [`swap ${formatBytes(swapBytes)}`] : []),
    'the partition table 2 MiB',
    ...(layout === null ? ["(the disko layout's other partitions not counted)"] : []),
  ];
  return { totalBytes: closureBytes + headroomBytes + fixedBytes, closureBytes, headroomBytes, fixedBytes, explanation: parts.join(' + ') };
}
