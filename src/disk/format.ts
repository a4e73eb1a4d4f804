// Makes the file systems: vfat on the EFI system partition, ext4 on the root
// and swap on the swap partition, each inside LUKS2 when the layout encrypts.
// Labels as in the NixOS manual (boot, nixos, swap).
import type { Layout } from '../common/answers.js';
import type { PartitionInfo } from '../protocol/messages.js';
import type { JobContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import { ROOT_MAPPER, SWAP_MAPPER, encryptAndOpen } from './luks.js';
import type { PartitionNodes } from './partition.js';
import { LABELS } from './planned-file-systems.js';

export interface Formatted {
  // What to mount or turn on: a partition, or the opened LUKS device on it.
  root: string;
  esp: string | null;
  swap: string | null;
  // For the hardware configuration: encrypted swap, which nixos-generate-config does not see.
  partitions: PartitionInfo[];
}

async function mkfs(ctx: JobContext, file: string, args: string[], device: string): Promise<void> {
  await runStageCommand(ctx, {
    file,
    args: [...args, device],
    failure: (r) => new InstallError('format-failed', `Creating a file system on ${device} failed`, `${file} ${[...args, device].join(' ')} exited with ${r.exitCode}:\n${lastLines(ctx, file)}\nCheck the disk (dmesg shows write errors), then start the install again.`),
  });
}

// Opened LUKS devices are added to OPENED as they open, for the teardown.
export async function formatPartitions(ctx: JobContext, nodes: PartitionNodes, layout: Layout, opened: string[]): Promise<Formatted> {
  const encryption = layout.encrypt;
  const steps = 1 + (nodes.esp ? 1 : 0) + (nodes.swap ? 1 : 0);
  let done = 0;
  const step = () => ctx.progress(++done / steps);
  const partitions: PartitionInfo[] = [];

  let esp: string | null = null;
  if (nodes.esp) {
    await mkfs(ctx, 'mkfs.vfat', ['-F', '32', '-n', LABELS.esp], nodes.esp);
    esp = nodes.esp;
    step();
  }

  let swap: string | null = null;
  if (nodes.swap) {
    swap = nodes.swap;
    if (encryption) {
      const swapDevice = await encryptAndOpen(ctx, nodes.swap, encryption, SWAP_MAPPER, opened);
      swap = swapDevice.mapper;
      partitions.push({ claimed: true, device: nodes.swap, fs: 'linuxswap', fsName: 'luks2', luksMapperName: SWAP_MAPPER, uuid: swapDevice.uuid });
    }
    await mkfs(ctx, 'mkswap', ['-L', LABELS.swap], swap);
    step();
  }

  const rootPartition = nodes.root;
  if (!rootPartition) throw new InstallError('internal-error', 'The layout has no root partition', 'This is a bug in the installer; please report it with the log.');
  let root = rootPartition;
  if (encryption) root = (await encryptAndOpen(ctx, rootPartition, encryption, ROOT_MAPPER, opened)).mapper;
  await mkfs(ctx, 'mkfs.ext4', ['-F', '-q', '-L', LABELS.root], root);
  step();
  return { root, esp, swap, partitions };
}
