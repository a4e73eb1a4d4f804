// A fleet target's system, prepared, checked and built on the seed, before
// the target's disk is touched: the stages of an unattended install up to the
// build, with the target's own hardware probe (sent when it registered) in
// place of this machine's, and the file systems its layout will make. The
// disk's own checks (it exists, is not the medium, may be erased, is large
// enough) are the target's, which has the disk; the closure's size it checks
// them with is measured here, in the check's log.
import { basename, dirname, isAbsolute, relative } from 'node:path';
import type { Answers } from '../common/answers.js';
import { AnswerError } from '../common/answers.js';
import type { ClosureSize } from '../disk/closure-size.js';
import { closureInfo, narBytes, type StorePathInfo } from '../nix/commands.js';
import { closureHash } from '../nix/closure-hash.js';
import { oneDiskoDisk, refuseLayoutWithDisko, refuseMissingLayout } from '../disk/disko.js';
import { DISKO_FILE_SYSTEMS, plannedFileSystemsNix } from '../disk/planned-file-systems.js';
import { prepareConfig } from '../prepare/prepare-config.js';
import { packConfig } from '../stage/config-archive.js';
import type { DiskoFacts, FlakeInput } from '../protocol/config-facts.js';
import type { Layout } from '../common/answers.js';
import type { Firmware } from '../prepare/firmware.js';
import type { TargetHardware } from '../protocol/fleet.js';
import type { InstallChoices } from '../protocol/messages.js';
import { buildStage, hardwareStage, validateStage } from './shared-stages.js';
import { defineStage, type Pipeline } from './stage.js';
import { buildDiskoScripts, layoutFirmware } from './unattended.js';

export interface FleetTargetPlan {
  mac: string;
  answers: Answers;
  hardware: TargetHardware;
  // Where the checked configuration (with the target's hardware configuration) is packed for the target's /etc/nixos.
  configArchive: string;
}

const NOTHING_TOUCHED = "Nothing was written to the target's disk.";
const FIRMWARE_WORDS = { efi: 'UEFI', bios: 'a BIOS' } as const;

// The layout and the firmware the installed machine starts with: the layout's, which must be how the target booted,
// or with no layout (a disko configuration, known once evaluated) the target's own.
function layoutOf({ answers, hardware, mac }: FleetTargetPlan): { layout: Layout | null; firmware: Firmware } {
  const { layout } = answers;
  if (layout === null) return { layout, firmware: hardware.firmware };
  const firmware = layoutFirmware(layout);
  if (firmware !== hardware.firmware) {
    throw new AnswerError('layout', `${answers.file}: the layout ${layout.type} needs ${FIRMWARE_WORDS[firmware]}, but ${mac} started with ${FIRMWARE_WORDS[hardware.firmware]}`, `Choose "layout": "${hardware.firmware}-ext4" for this machine (its own answer file, ${mac}.json), or switch its firmware to ${FIRMWARE_WORDS[firmware]} and network-boot it again. ${NOTHING_TOUCHED}`);
  }
  return { layout, firmware };
}

// What Calamares would pass: the firmware, and for a BIOS layout GRUB's disk (the answer file's, as the target names it).
function choicesOf(plan: FleetTargetPlan): InstallChoices {
  const { layout, firmware } = layoutOf(plan);
  return { ...plan.answers.choices, firmwareType: firmware, ...(layout?.type === 'bios-ext4' && { bootLoaderPath: plan.answers.disk }) };
}

// The fleet's answer files (every target's user and password hash) and a LUKS passphrase file stay on the seed when
// they are kept in the configuration folder.
function answersWithin(source: string, answers: Answers): string[] {
  const kept = (file: string): string[] => {
    const folder = relative(source, dirname(file));
    if (folder.startsWith('..') || isAbsolute(folder)) return [];
    // Kept in the configuration folder itself: at least the file stays behind.
    return [folder || basename(file)];
  };
  return [...kept(answers.file), ...(answers.layout?.encrypt ? kept(answers.layout.encrypt.passphraseFile) : [])];
}

// What the target's go says of what was built: the closure it copies (the system and a flake's inputs), its hash
// (the target checks its copy against it), the inputs, and what the check warned of (for the target's receipt).
export interface BuiltTarget extends ClosureSize {
  // Each path with its NAR size: the target's copy counts its progress by them.
  closure: StorePathInfo[];
  hash: string;
  flakeInputs: FlakeInput[];
  warnings: string[];
  // A disko configuration's scripts (built in the seed's store), disks and mount point; null with an answer file's layout.
  disko: DiskoFacts | null;
}

// MEASURED gets what was built: the target's go says it (its disk must hold the closure).
export function fleetCheckPipeline(plan: FleetTargetPlan, measured: (built: BuiltTarget) => void): Pipeline {
  const { answers, hardware, mac } = plan;
  let disko: DiskoFacts | null = null;
  return {
    async checkRequest() {},
    async start({ ctx, source }) {
      ctx.log('daemon', `fleet target ${mac}: checking its system from ${source} with ${answers.file} and its hardware probe (${hardware.dmi.vendor ?? 'vendor unknown'} ${hardware.dmi.product ?? ''}, ${FIRMWARE_WORDS[hardware.firmware]})`);
      layoutOf(plan);
    },
    stages: [
      hardwareStage(({ ctx, source }) => {
        const { layout } = layoutOf(plan);
        return prepareConfig(ctx, source, { choices: choicesOf(plan) }, { plannedFileSystems: layout ? plannedFileSystemsNix(layout) : DISKO_FILE_SYSTEMS, probe: hardware.config });
      }),
      validateStage(
        () => {
          const { layout, firmware } = layoutOf(plan);
          return { firmware, firmwareLine: `${layout ? `the layout ${layout.type}` : 'a disko layout (as it booted)'} starts ${mac} with ${FIRMWARE_WORDS[firmware]}`, user: answers.user, desktop: answers.desktop, hostname: answers.choices.hostname };
        },
        async ({ ctx, source }, validation) => {
          const facts = validation.facts?.disko ?? null;
          if (!facts) refuseMissingLayout(answers, source);
          else {
            refuseLayoutWithDisko(answers, source);
            const [diskName, device] = oneDiskoDisk(facts, source);
            // Built here, copied by the target into its own (live) store, run there on its disk.
            ctx.log('validate', `the configuration lays out its disks with disko (disko.devices.disk.${diskName} is ${device} on the target); building its format and mount scripts in the seed's store`);
            await buildDiskoScripts(ctx, facts, source);
            disko = { formatScript: facts.formatScript, mountScript: facts.mountScript, rootMountPoint: facts.rootMountPoint, disks: facts.disks };
          }
          ctx.progress(1);
        },
      ),
      // Built, then measured and its configuration packed within the build phase: a failure refuses the target as any stage's does.
      defineStage('build', async (install) => {
        await buildStage.run(install);
        // A flake's inputs go with the system, as an install's copy stage copies them.
        const flakeInputs = (install.validation?.facts?.flake?.inputs ?? []).filter((input) => input.storePath !== null);
        const roots = [install.toplevel!, ...flakeInputs.map((input) => input.storePath!)];
        const { hash } = await closureHash(install.ctx, roots, null);
        const closure = await closureInfo(install.ctx, roots);
        measured({ bytes: narBytes(closure), paths: closure.length, closure, hash, flakeInputs, warnings: install.warnings(), disko });
        await packConfig(install.ctx, install.prepared!.folder, plan.configArchive, answersWithin(install.source, answers));
      }),
    ],
    again: () => NOTHING_TOUCHED,
    writesNothing: true,
  };
}
