// The exact configuration that will be installed, prepared before anything is
// written to the target: a snapshot of the source folder in a private scratch
// folder, with the target's generated hardware-configuration.nix in place of
// the template and the installer's choices beside it. The checks run on this
// folder, and the stage phase copies this folder (not the source again) to
// <root>/etc/nixos, so what was checked is what is installed.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { InstallRequest, PartitionInfo } from '../protocol/messages.js';
import type { CommandContext, JobContext } from '../common/context.js';
import { beforeLastBrace, completeHardwareConfig, showHardwareConfig } from './hardware-config.js';
import { CHOICES_FILE, installerChoicesModule, type ChoicesModule } from './installer-choices.js';
import { privateCopy, writeNewFile } from './private-copy.js';
import { counted } from '../common/counted.js';

export const HARDWARE_FILE = 'hardware-configuration.nix';

export interface PreparedConfig {
  // The folder to check, stage and build: the source with the generated files.
  folder: string;
  // The template hardware-configuration.nix from the source, if it had one.
  template: string | null;
  // What nixos-generate-config printed for this machine.
  generated: string;
  // The generated hardware configuration is the template and no choice is added:
  // the system is the one the ISO prebuilt from the same folder.
  asShipped: boolean;
  choices: ChoicesModule;
  // Identifies the generated files, for the cache of passing checks.
  generatedHash: string;
  // The source folder's fingerprint as copied (it was scanned, and refused for unsafe entries, then).
  sourceFingerprint: string;
  remove(): Promise<void>;
}

// Trailing blanks and the final newline do not make a different system.
function sameText(a: string, b: string): boolean {
  const norm = (t: string) => t.replace(/[ \t]+$/gm, '').trimEnd();
  return norm(a) === norm(b);
}

// For an unattended install, checked before its disk is partitioned: the probe
// without file systems, and the file systems the layout will make in their place.
export interface DiskToBe {
  plannedFileSystems: string;
  // A fleet target's own probe (nixos-generate-config --show-hardware-config --no-filesystems, run there), in place of this machine's.
  probe?: string;
}

// A check before Calamares has partitioned anything (a validate request with
// choices): this machine without file systems, and a root file system standing
// in for the one the install will have (a NixOS system must declare one). The
// install probes its mounted target again and is checked again.
export const PREVIEW_DISK: DiskToBe = {
  plannedFileSystems: '  # Stands in for the target\'s file systems, which do not exist yet (nixos-offline-installer).\n  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };\n',
};

// CTX's root is the mounted target the probe looks at; without DISKTOBE it must be set.
export async function prepareConfig(ctx: CommandContext & { root?: string }, source: string, request: Pick<InstallRequest, 'partitions' | 'choices'>, diskToBe?: DiskToBe): Promise<PreparedConfig> {
  // Private, and readable to the eval user, who evaluates it (the files written below are 0644).
  const { folder, written, fingerprint, remove } = await privateCopy(ctx, source);
  try {
    // The kept copy is filled when the daemon first sees the folder: an install usually takes nothing here.
    ctx.log('hardware', written === 0 ? `the kept copy of ${source} was current: nothing copied into it` : `copied ${counted(written, 'file or link', 'files or links')} of ${source} into its kept copy`);
    const hardware = join(folder, HARDWARE_FILE);
    const template = await readFile(hardware, 'utf8').catch(() => null);
    const generated = diskToBe ? beforeLastBrace(diskToBe.probe ?? (await showHardwareConfig(ctx, null, true)), diskToBe.plannedFileSystems) : await showHardwareConfig(ctx, ctx.root ?? null);
    const choices = installerChoicesModule(request.choices);
    if (choices.refused.length > 0) ctx.log('hardware', `choices not applied, as they are not valid values: ${choices.refused.join(', ')}`, 'warn');
    if (template !== null) {
      await rename(hardware, `${hardware}.template`);
      ctx.log('hardware', `keeping the configuration's own ${HARDWARE_FILE} as ${HARDWARE_FILE}.template`);
    }
    if (choices.text !== null) {
      const existing = await readFile(join(folder, CHOICES_FILE), 'utf8').catch(() => null);
      if (existing !== null) ctx.log('hardware', `${source}/${CHOICES_FILE} is replaced by this install's choices`, 'warn');
      await writeNewFile(join(folder, CHOICES_FILE), choices.text);
      ctx.log('hardware', `the installer's choices, as defaults the configuration can override: ${choices.chosen.map((c) => `${c.option} = ${c.value}`).join(', ')}`);
    }
    const complete = completeHardwareConfig(ctx, generated, request.partitions ?? [], choices.text === null ? null : CHOICES_FILE);
    await writeNewFile(hardware, complete);
    const asShipped = template !== null && sameText(template, complete) && choices.text === null;
    ctx.log('hardware', asShipped ? `this machine's ${HARDWARE_FILE} is the configuration's own` : `this machine's ${HARDWARE_FILE} differs from the configuration's own; the system is checked with it`);
    const generatedHash = createHash('sha256').update(complete).update('\0').update(choices.text ?? '').digest('hex');
    return { folder, template, generated, asShipped, choices, generatedHash, sourceFingerprint: fingerprint, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

// An unattended install, once its file systems are mounted: the probe's own
// hardware configuration replaces the planned file systems the checks used.
// NOFILESYSTEMS: the configuration declares them itself (disko's module does).
export async function probeMountedFileSystems(ctx: JobContext, prepared: PreparedConfig, partitions: readonly PartitionInfo[], noFilesystems = false): Promise<void> {
  const generated = await showHardwareConfig(ctx, ctx.root, noFilesystems);
  const complete = completeHardwareConfig(ctx, generated, partitions, prepared.choices.text === null ? null : CHOICES_FILE);
  await writeNewFile(join(prepared.folder, HARDWARE_FILE), complete);
  prepared.generated = generated;
  ctx.log('hardware', noFilesystems ? `this machine's ${HARDWARE_FILE} probed with the new disk mounted (nixos-generate-config --no-filesystems --root ${ctx.root}); the file systems are the configuration's` : `this machine's ${HARDWARE_FILE} now declares the file systems just made (nixos-generate-config --root ${ctx.root})`);
}
