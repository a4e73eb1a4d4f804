// The unattended install's own steps, called by run-install.ts: the answer
// file and its disk before anything else; the disk's checks and size with the
// rest of the validation; then partition, format and mount, once everything
// has passed.
import { dirname } from 'node:path';
import { describeAnswers, type Answers, type Layout } from '../answers/answer-file.js';
import { readAnswers } from '../answers/read-answers.js';
import { buildSystem } from '../build/build-system.js';
import { inspectDisk, type DiskInfo } from '../disk/block-device.js';
import { checkDisk, checkDiskSize, type CheckedDisk } from '../disk/check-disk.js';
import { closureBytes } from '../disk/closure-size.js';
import type { DiskSession } from '../disk/disk-session.js';
import { formatPartitions, type Formatted } from '../disk/format.js';
import { planPartitions } from '../disk/layout.js';
import { mountTarget } from '../disk/mount.js';
import { partitionDisk } from '../disk/partition.js';
import { formatBytes } from '../disk/sizes.js';
import type { PreparedConfig } from '../prepare/prepare-config.js';
import type { InstallChoices } from '../protocol/messages.js';
import type { JobContext, JobSettings } from '../step/context.js';
import { manifestFacts } from '../validate/config-facts.js';
import type { Firmware } from '../validate/boot-loader.js';

export interface UnattendedPlan {
  answers: Answers;
  disk: DiskInfo;
}

// Before any phase, as a mounted target's own checks are: the answer file, and that its disk exists and is a whole, writable disk.
export async function readPlan(ctx: JobContext, answersPath: string, source: string, settings: JobSettings): Promise<UnattendedPlan> {
  const answers = await readAnswers(answersPath);
  ctx.log('daemon', `answer file ${answers.file}: ${describeAnswers(answers)}`);
  const answersDir = dirname(answers.file);
  if (settings.configDirs.includes(answersDir) && answersDir !== source) {
    ctx.log('daemon', `the answer file is in ${answersDir}, but the configuration installed is ${source} (the first folder that has a configuration.nix)`, 'warn');
  }
  const disk = await inspectDisk(answers.disk);
  ctx.log('daemon', `disk ${answers.disk}: ${disk.device}, ${formatBytes(disk.sizeBytes)}${disk.stablePath !== answers.disk ? ` (${disk.stablePath})` : ''}`);
  return { answers, disk };
}

// The layout says how the installed machine starts.
export function layoutFirmware(layout: Layout): Firmware {
  return layout.type === 'bios-ext4' ? 'bios' : 'efi';
}

// What Calamares would pass: the firmware, and the disk GRUB goes to on a BIOS machine
// (a default in installer-choices.nix that the configuration may override).
export function unattendedChoices(plan: UnattendedPlan): InstallChoices {
  const { disk } = plan;
  const path = /^\/dev\/[A-Za-z0-9/._:-]{1,200}$/.test(disk.stablePath) ? disk.stablePath : disk.device;
  return { ...plan.answers.choices, firmwareType: layoutFirmware(plan.answers.layout), ...(plan.answers.layout.type === 'bios-ext4' && { bootLoaderPath: path }) };
}

// What the running installer reads from: a disk holding any of these is the live medium.
function livePaths(settings: JobSettings, source: string, answers: Answers): string[] {
  return [
    '/',
    '/nix/store',
    // The ISO's store: a squashfs on a loop device whose file is on the medium.
    '/nix/.ro-store',
    '/iso',
    source,
    ...settings.configDirs,
    answers.file,
    ...(answers.layout.encrypt ? [answers.layout.encrypt.passphraseFile] : []),
    ...(settings.manifest ? [settings.manifest] : []),
    ...(settings.nixpkgs ? [settings.nixpkgs] : []),
  ];
}

// The end of the validate phase: the disk may be used and erased, and the system fits on it. Nothing is written to any disk.
export async function checkDiskFits(ctx: JobContext, plan: UnattendedPlan, source: string, settings: JobSettings, prepared: PreparedConfig): Promise<CheckedDisk> {
  const { answers } = plan;
  const checked = await checkDisk(ctx, plan.disk, answers, livePaths(settings, source, answers));
  ctx.progress(0.6);
  // The size needs the closure: the ISO manifest records it for the configuration
  // it ships; any other is built now, in the live store, which also proves it
  // builds before the disk is erased.
  const shipped = settings.manifest ? await manifestFacts(settings.manifest, source) : null;
  let bytes = shipped?.closureBytes;
  if (bytes === undefined || bytes === null) {
    ctx.log('validate', `building the system in the live store before touching the disk, to know its size and that it builds`);
    bytes = await closureBytes(ctx, await buildSystem(ctx, prepared.folder, source));
  }
  const need = checkDiskSize(checked.disk, answers.layout, bytes);
  ctx.log('validate', `${checked.disk.device} has ${formatBytes(checked.disk.sizeBytes)}; the install needs ${formatBytes(need.totalBytes)} (${need.explanation})`);
  return checked;
}

// Partition, format and mount: from here on the disk is changed.
export async function prepareDisk(ctx: JobContext, answers: Answers, checked: CheckedDisk, session: DiskSession): Promise<Formatted> {
  const partitions = planPartitions(answers.layout);
  ctx.phase('partition');
  const nodes = await partitionDisk(ctx, checked.disk, partitions, checked.signatures.length > 0);
  ctx.phase('format');
  const formatted = await formatPartitions(ctx, nodes, answers.layout, session.mappers);
  ctx.phase('mount');
  await mountTarget(ctx, session, formatted);
  return formatted;
}
