// Partitions the disk with sfdisk (GPT, the layout's script on stdin), then
// makes the kernel see the new partitions: sfdisk's own re-read fails on a
// device whose driver allows no partitions by default (the loop driver with
// max_part=0) or that is busy, so partx adds them, and udev settles where there
// is one. The table is read back from the disk, never assumed.
import { stat } from 'node:fs/promises';
import type { CommandContext, JobContext } from '../common/context.js';
import { InstallCancelled, InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import type { DiskInfo } from './block-device.js';
import { sfdiskScript, type PartitionRole, type PlannedPartition } from './layout.js';

const NODE_WAIT_MS = 10_000;

export type PartitionNodes = Partial<Record<PartitionRole, string>>;

interface SfdiskTable {
  partitiontable?: { label?: string; partitions?: { node?: string; start?: number; size?: number; type?: string }[] };
}

export function parseSfdiskJson(text: string): { label: string | null; partitions: { node: string; start: number; size: number; type: string }[] } {
  const table = (JSON.parse(text) as SfdiskTable).partitiontable ?? {};
  return {
    label: table.label ?? null,
    partitions: (table.partitions ?? []).map((p) => ({ node: String(p.node), start: Number(p.start), size: Number(p.size), type: String(p.type).toUpperCase() })),
  };
}

export async function readPartitionTable(ctx: CommandContext, disk: DiskInfo) {
  const result = await runStageCommand(ctx, {
    file: 'sfdisk',
    args: ['--json', disk.device],
    captureStdout: true,
    logStdout: false,
    failure: (r) => new InstallError('partition-failed', `The new partition table of ${disk.path} could not be read`, `sfdisk --json ${disk.device} exited with ${r.exitCode}:\n${lastLines(ctx, 'sfdisk')}`),
  });
  return parseSfdiskJson(result.stdout.join('\n'));
}

async function isBlockDevice(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isBlockDevice(), () => false);
}

async function waitForNodes(ctx: CommandContext, nodes: readonly string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing: string[] = [];
    for (const node of nodes) if (!(await isBlockDevice(node))) missing.push(node);
    if (missing.length === 0 || Date.now() >= deadline) return missing;
    if (ctx.signal.aborted) throw new InstallCancelled();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Optional helpers: partx and udevadm that fail, or are not there, are logged and the nodes checked anyway.
export async function tryCommand(ctx: CommandContext, file: string, args: string[]): Promise<void> {
  try {
    await runStageCommand(ctx, { file, args, failure: (r) => new InstallError('partition-reread', `${file} exited with ${r.exitCode}`, '') });
  } catch (error) {
    if (error instanceof InstallCancelled) throw error;
    ctx.log('partition', `${file} ${args.join(' ')}: ${(error as InstallError).title} (continuing)`);
  }
}

export async function rereadPartitions(ctx: CommandContext, disk: DiskInfo, nodes: readonly string[]): Promise<void> {
  await tryCommand(ctx, 'partx', ['--update', disk.device]);
  await tryCommand(ctx, 'udevadm', ['settle', '--timeout=30']);
  let missing = await waitForNodes(ctx, nodes, 1000);
  if (missing.length > 0) {
    await tryCommand(ctx, 'partx', ['--add', disk.device]);
    missing = await waitForNodes(ctx, nodes, NODE_WAIT_MS);
  }
  if (missing.length > 0) {
    throw new InstallError(
      'partition-failed',
      `The new partitions of ${disk.path} did not appear`,
      `${disk.device} has its new partition table, but the kernel shows no ${missing.join(', ')} after partx and ${NODE_WAIT_MS / 1000} s. Is the disk in use? Reboot the installer and start the install again (the disk is already partitioned; keep "wipe": true).`,
    );
  }
}

export async function partitionDisk(ctx: JobContext, disk: DiskInfo, plan: readonly PlannedPartition[], erase: boolean): Promise<PartitionNodes> {
  if (erase) {
    ctx.log('partition', `erasing the signatures on ${disk.device} ("wipe": true)`);
    await runStageCommand(ctx, {
      file: 'wipefs',
      args: ['--all', disk.device],
      failure: (r) => new InstallError('partition-failed', `${disk.path} could not be erased`, `wipefs --all ${disk.device} exited with ${r.exitCode}:\n${lastLines(ctx, 'wipefs')}\nIs something on the disk in use? Check lsblk ${disk.device}.`),
    });
  }
  ctx.progress(0.3);
  const script = sfdiskScript(plan);
  for (const line of script.trimEnd().split('\n')) ctx.log('partition', `sfdisk ${disk.device} < ${line}`);
  await runStageCommand(ctx, {
    file: 'sfdisk',
    args: ['--wipe', 'always', '--wipe-partitions', 'always', disk.device],
    input: script,
    failure: (r) =>
      new InstallError('partition-failed', `Partitioning ${disk.path} failed`, `sfdisk ${disk.device} exited with ${r.exitCode}:\n${lastLines(ctx, 'sfdisk')}\nCheck that nothing on the disk is in use (lsblk ${disk.device}), then start the install again.`),
  });
  ctx.progress(0.6);

  const table = await readPartitionTable(ctx, disk);
  const expected = plan.map((p) => p.typeGuid);
  const found = table.partitions.map((p) => p.type);
  if (table.label !== 'gpt' || found.join() !== expected.join()) {
    throw new InstallError('partition-failed', `The partition table of ${disk.path} is not the one written`, `sfdisk wrote ${plan.length} GPT partitions (${expected.join(', ')}) but the disk reads back as ${table.label ?? 'no table'} with ${found.join(', ') || 'no partitions'}.`);
  }
  const nodes: PartitionNodes = {};
  plan.forEach((p, i) => (nodes[p.role] = table.partitions[i]!.node));
  await rereadPartitions(ctx, disk, Object.values(nodes));
  ctx.log('partition', `partitions: ${plan.map((p) => `${nodes[p.role]} ${p.label}`).join(', ')}`);
  ctx.progress(1);
  return nodes;
}
