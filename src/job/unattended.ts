// The unattended install's own steps, called by run-install.ts: every check of
// the answer file, the configuration and the disk before the disk is touched,
// then partition, format and mount.
import { dirname } from 'node:path';
import type { Answers } from '../answers/answer-file.js';
import { describeAnswers } from '../answers/answer-file.js';
import { readAnswers } from '../answers/read-answers.js';
import { buildSystem } from '../build/build-system.js';
import { checkDisk, checkDiskSize, type CheckedDisk } from '../disk/check-disk.js';
import { closureBytes } from '../disk/closure-size.js';
import type { DiskSession } from '../disk/disk-session.js';
import { formatPartitions, type Formatted } from '../disk/format.js';
import { planPartitions } from '../disk/layout.js';
import { mountTarget } from '../disk/mount.js';
import { partitionDisk } from '../disk/partition.js';
import { formatBytes } from '../disk/sizes.js';
import type { JobContext, JobSettings } from '../step/context.js';
import { InstallCancelled } from '../step/install-error.js';
import { validateConfig, validationError, type ValidationCache } from '../validate/validate-config.js';

export interface UnattendedPlan {
  answers: Answers;
  checked: CheckedDisk;
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

// The validate phase of an unattended install. Nothing is written to any disk.
export async function checkUnattended(ctx: JobContext, answersPath: string, source: string, settings: JobSettings, cache?: ValidationCache): Promise<UnattendedPlan> {
  const answers = await readAnswers(answersPath);
  ctx.log('validate', `answer file ${answers.file}: ${describeAnswers(answers)}`);
  const answersDir = dirname(answers.file);
  if (settings.configDirs.includes(answersDir) && answersDir !== source) {
    ctx.log('validate', `the answer file is in ${answersDir}, but the configuration installed is ${source} (the first folder that has a configuration.nix)`, 'warn');
  }

  const validation = await validateConfig(ctx, { source, ...(answers.user !== undefined && { user: answers.user }), ...(answers.desktop !== undefined && { desktop: answers.desktop }) }, settings, cache);
  if (ctx.signal.aborted) throw new InstallCancelled();
  if (!validation.ok) throw validationError(validation);
  ctx.progress(0.3);

  const checked = await checkDisk(ctx, answers, livePaths(settings, source, answers));
  ctx.progress(0.4);

  // The size needs the closure: the manifest records it for the ISO's own
  // configuration; any other is built now, in the live store, which also proves
  // it builds before the disk is erased.
  const facts = validation.facts!;
  let bytes = facts.closureBytes;
  if (bytes === undefined) {
    let toplevel = facts.toplevel;
    if (toplevel === null) {
      ctx.log('validate', `building ${source} in the live store before touching the disk, to know its size and that it builds`);
      toplevel = await buildSystem(ctx, source, source);
    }
    bytes = await closureBytes(ctx, toplevel);
  }
  const need = checkDiskSize(checked.disk, answers.layout, bytes);
  ctx.log('validate', `${checked.disk.device} has ${formatBytes(checked.disk.sizeBytes)}; the install needs ${formatBytes(need.totalBytes)} (${need.explanation})`);
  ctx.progress(1);
  return { answers, checked };
}

// Partition, format and mount: from here on the disk is changed.
export async function prepareDisk(ctx: JobContext, plan: UnattendedPlan, session: DiskSession): Promise<Formatted> {
  const { answers, checked } = plan;
  const partitions = planPartitions(answers.layout);
  ctx.phase('partition');
  const nodes = await partitionDisk(ctx, checked.disk, partitions, checked.signatures.length > 0);
  ctx.phase('format');
  const formatted = await formatPartitions(ctx, nodes, answers.layout, session.mappers);
  ctx.phase('mount');
  await mountTarget(ctx, session, formatted);
  return formatted;
}
