// What an unattended install adds to the stages (unattended-stages.ts): the
// answer file and its disk before anything else; the disk's checks and size
// with the rest of the validation.
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeAnswers } from '../answers/answer-file.js';
import type { Answers, Layout } from '../common/answers.js';
import { readAnswers } from '../answers/read-answers.js';
import { buildSystem } from '../build/build-system.js';
import { inspectDisk, type DiskInfo } from '../disk/block-device.js';
import { checkDisk, checkDiskSize, type CheckedDisk } from '../disk/check-disk.js';
import { closureBytes } from '../disk/closure-size.js';
import { checkRootMountPoint, matchDiskoDisk, refuseLayoutWithDisko, refuseMissingLayout, type DiskoPlan } from '../disk/disko.js';
import { checkGrubDisks } from '../disk/grub-disk.js';
import { LIVE_STORE_MEDIUM } from '../fs/mounts.js';
import { lastMessages, realisePaths } from '../nix/commands.js';
import { targetFirmware } from '../prepare/firmware.js';
import { formatBytes } from '../disk/sizes.js';
import type { PreparedConfig } from '../prepare/prepare-config.js';
import type { ConfigFacts, DiskoFacts } from '../protocol/config-facts.js';
import type { InstallChoices } from '../protocol/messages.js';
import { InstallError } from '../common/install-error.js';
import type { JobContext, JobSettings } from '../common/context.js';
import { manifestFacts } from '../validate/config-facts.js';
import type { Firmware } from '../prepare/firmware.js';

export interface UnattendedPlan {
  answers: Answers;
  disk: DiskInfo;
  // The configuration's disko layout: known at once from the ISO manifest, or after validate from the folder's evaluation.
  disko: DiskoPlan | null;
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
  // The ISO's own configuration says in its manifest whether disko lays out its disks.
  const shipped = settings.manifest ? await manifestFacts(settings.manifest, source) : null;
  let disko: DiskoPlan | null = null;
  if (shipped?.disko) {
    refuseLayoutWithDisko(answers, source);
    disko = await matchDiskoDisk(shipped.disko, disk, answers, source, 'manifest');
    ctx.log('daemon', `the configuration lays out its disks with disko: disko.devices.disk.${disko.diskName} is ${disko.device}, mounted at ${shipped.disko.rootMountPoint}`);
  } else if (shipped) refuseMissingLayout(answers, source);
  return { answers, disk, disko };
}

// The layout says how the installed machine starts; a disko layout's machine starts as this one did.
export function layoutFirmware(layout: Layout | null): Firmware {
  if (layout === null) return targetFirmware();
  return layout.type === 'bios-ext4' ? 'bios' : 'efi';
}

// What Calamares would pass: the firmware, and the disk GRUB goes to on a BIOS machine
// (a default in installer-choices.nix that the configuration may override).
export function unattendedChoices(plan: UnattendedPlan): InstallChoices {
  const { disk } = plan;
  const path = /^\/dev\/[A-Za-z0-9/._:-]{1,200}$/.test(disk.stablePath) ? disk.stablePath : disk.device;
  return { ...plan.answers.choices, firmwareType: layoutFirmware(plan.answers.layout), ...(plan.answers.layout?.type === 'bios-ext4' && { bootLoaderPath: path }) };
}

// The live system's own folders (a netbooted one has none on a disk). The ISO's store is a squashfs on a loop device whose file is on the medium.
export const LIVE_SYSTEM_PATHS = ['/', '/nix/store', LIVE_STORE_MEDIUM, '/iso'];

// What the running installer reads from: a disk holding any of these is the live medium.
function livePaths(settings: JobSettings, source: string, answers: Answers): string[] {
  return [
    ...LIVE_SYSTEM_PATHS,
    source,
    ...settings.configDirs,
    answers.file,
    ...(answers.layout?.encrypt ? [answers.layout.encrypt.passphraseFile] : []),
    ...(settings.manifest ? [settings.manifest] : []),
    ...(settings.nixpkgs ? [settings.nixpkgs] : []),
  ];
}

// The end of the validate phase: the disk may be used and erased, and the system fits on it. Nothing is written to any disk.
export async function checkDiskFits(ctx: JobContext, plan: UnattendedPlan, source: string, settings: JobSettings, prepared: PreparedConfig, facts: ConfigFacts | null): Promise<CheckedDisk> {
  const { answers } = plan;
  if (!plan.disko) {
    // A folder that is not the ISO's: its evaluation says whether it uses disko.
    const evaluated = facts?.disko ?? null;
    if (evaluated) refuseLayoutWithDisko(answers, source);
    else refuseMissingLayout(answers, source);
    if (evaluated) plan.disko = await buildDisko(ctx, evaluated, plan, source);
  }
  if (facts?.bootLoader?.grub) await checkGrubDisks(facts.bootLoader.grubDevices, plan.disk, answers, source);
  const checked = await checkDisk(ctx, plan.disk, answers, livePaths(settings, source, answers));
  if (plan.disko) {
    await checkRootMountPoint(plan.disko.facts, source);
    await checkScripts(plan.disko);
  }
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

// The disko scripts of a folder the ISO did not ship, built in the live store from what is there (offline).
async function buildDisko(ctx: JobContext, facts: DiskoFacts, plan: UnattendedPlan, source: string): Promise<DiskoPlan> {
  const matched = await matchDiskoDisk(facts, plan.disk, plan.answers, source, 'built');
  ctx.log('validate', `the configuration lays out its disks with disko (disko.devices.disk.${matched.diskName} is ${matched.device}); building its format and mount scripts in the live store`);
  await buildDiskoScripts(ctx, facts, source);
  return matched;
}

// FACTS' format and mount scripts built in this machine's store (a fleet's seed builds a target's).
export async function buildDiskoScripts(ctx: JobContext, facts: DiskoFacts, source: string): Promise<void> {
  await realisePaths(ctx, facts.drvPaths ?? [], (outcome) =>
    new InstallError(
      'disko-unbuildable',
      `The disko scripts of ${source} cannot be built here`,
      `The configuration describes its disks with disko, and its format and mount scripts (system.build.formatScript, mountScript) are not in this ISO's store; building them offline failed:\n${lastMessages(outcome)}\nBuild the ISO from this configuration (its disko scripts are then on the ISO), or install the ISO's own configuration. Nothing was written to any disk.`,
    ),
  );
}

// The scripts are in the store (built with the ISO, or just now), as files that run.
export async function checkScripts(disko: DiskoPlan): Promise<void> {
  for (const script of [disko.facts.formatScript, disko.facts.mountScript]) {
    const info = await stat(script).catch(() => null);
    if (!info?.isFile() || (info.mode & 0o111) === 0) {
      throw new InstallError(
        'disko-missing',
        `The disko script ${script} is not in the store`,
        `${disko.origin === 'manifest' ? "The ISO manifest names it as the configuration's disko script, but" : 'It was built, but'} ${script} is not an executable file. ${disko.origin === 'manifest' ? 'Rebuild the ISO with this installer\'s flake (the manifest brings the scripts into its store).' : 'Check the configuration\'s disko settings.'} Nothing was written to any disk.`,
      );
    }
  }
}
