// The checks of the answer file's disk, before anything is written to it
// (block-device.ts found it exists and is a whole, writable disk): nothing uses
// it (the live medium least of all); what is on it may be erased; the kernel
// can mount and encrypt what the layout makes; and it is large enough.
import { access } from 'node:fs/promises';
import { AnswerError, type Answers, type Layout } from '../common/answers.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { runStageCommand } from '../common/run-stage-command.js';
import type { DiskInfo } from './block-device.js';
import { checkDiskFree } from './disk-in-use.js';
import { checkWipe, diskSignatures, type Signature } from './existing-data.js';
import { diskNeed, type SizeNeed } from './layout.js';
import { luksUnsupported, missingFilesystems } from './kernel-support.js';
import { formatBytes } from './sizes.js';

export interface CheckedDisk {
  disk: DiskInfo;
  signatures: Signature[];
}

// DISK: what inspectDisk found for the answer file's disk.
export async function checkDisk(ctx: CommandContext, disk: DiskInfo, answers: Answers, livePaths: readonly string[]): Promise<CheckedDisk> {
  await checkDiskFree(disk, { paths: livePaths });
  const signatures = await diskSignatures(ctx, disk);
  checkWipe(disk, signatures, answers.wipe, answers.file);
  if (signatures.length > 0) ctx.log('validate', `${disk.device} holds ${[...new Set(signatures.map((s) => s.type))].join(', ')}; "wipe": true, so it will be erased`, 'warn');
  const { layout } = answers;
  // A disko layout's file systems and encryption are its own: its scripts fail, clearly, where the kernel lacks them.
  if (layout === null) return { disk, signatures };
  const filesystems = layout.type === 'efi-ext4' ? ['ext4', 'vfat'] : ['ext4'];
  const missing = await missingFilesystems(ctx, filesystems);
  if (missing.length > 0) {
    throw new AnswerError('layout', `This kernel cannot mount ${missing.join(' or ')}`, `The layout ${layout.type} needs ${filesystems.join(' and ')} file systems, but the running kernel has no ${missing.join(' or ')} driver (not in /proc/filesystems, no module modprobe can load). Boot the installer's own kernel, or choose a layout it can mount. The disk was not touched.`);
  }
  if (layout.encrypt) {
    const unsupported = await luksUnsupported(ctx);
    if (unsupported) throw new AnswerError('layout.encrypt', 'Encryption cannot run on this machine', `The answer file asks for LUKS2 encryption, but ${unsupported}. Boot the installer's own kernel (it has dm-crypt), or remove "layout.encrypt". The disk was not touched.`);
    await runStageCommand(ctx, { file: 'cryptsetup', args: ['--version'], failure: (r) => new InstallError('command-missing', 'cryptsetup does not run', `cryptsetup --version exited with ${r.exitCode}. The disk was not touched.`) });
  }
  if (layout.type === 'efi-ext4' && !(await access('/sys/firmware/efi').then(() => true, () => false))) {
    ctx.log('validate', 'layout efi-ext4, but this machine booted without UEFI (no /sys/firmware/efi): the installed system boots only where UEFI boots it', 'warn');
  }
  return { disk, signatures };
}

export function checkDiskSize(disk: DiskInfo, layout: Layout | null, closureBytes: number): SizeNeed {
  const need = diskNeed(layout, closureBytes);
  if (disk.sizeBytes < need.totalBytes) {
    throw new AnswerError(
      'disk',
      `The disk ${disk.path} is too small: ${formatBytes(disk.sizeBytes)}, needs ${formatBytes(need.totalBytes)}`,
      `${disk.device} has ${formatBytes(disk.sizeBytes)} (${disk.sizeBytes} bytes); this install needs at least ${formatBytes(need.totalBytes)} (${need.totalBytes} bytes): ${need.explanation}. Name a larger disk in "disk"${layout && layout.swapBytes > 0 ? ', or a smaller "layout.swap"' : ''}. The disk was not touched.`,
    );
  }
  return need;
}
