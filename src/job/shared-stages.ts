// The stages every install has. Where an attended and an unattended install
// differ inside a stage (what the hardware probe is told, whose user and
// firmware are checked), the stage takes that part as an argument.
import { buildSystem } from '../build/build-system.js';
import { copyClosure } from '../copy/copy-closure.js';
import { keepFlakeInputs } from '../copy/flake-input-roots.js';
import { runNixosInstall } from '../install/run-nixos-install.js';
import type { PreparedConfig } from '../prepare/prepare-config.js';
import { manifestProfiles, matchProfile } from '../prepare/hardware-profiles.js';
import type { ValidationResult } from '../protocol/messages.js';
import { choiceLine, profileLine } from '../protocol/titles.js';
import { writeTargetLog } from '../report/write-target-log.js';
import { protectStagedSecrets } from '../stage/protect-secrets.js';
import { markStagedConfig, stageConfig } from '../stage/stage-config.js';
import type { Firmware } from '../prepare/firmware.js';
import { InstallCancelled } from '../common/install-error.js';
import { checkTargetFolders } from '../validate/check-target-root.js';
import { validateConfig, validationError } from '../validate/validate-config.js';
import { defineStage, type InstallRun, type Stage } from './stage.js';

// What to do after a failure or cancel that left a mounted target part-installed.
export const PARTIAL_TARGET_AGAIN = 'The target may hold a partial system; start the install again to finish it (paths already copied are reused).';

// The target's hardware configuration and the installer's choices, in a private copy of the folder.
export function hardwareStage(prepare: (install: InstallRun) => Promise<PreparedConfig>): Stage {
  return defineStage(
    'hardware',
    async (install) => {
      const { ctx } = install;
      const prepared = (install.prepared = await prepare(install));
      const profiles = await manifestProfiles(install.settings.manifest);
      ctx.log('hardware', profileLine(matchProfile(prepared.generated, profiles), Object.keys(profiles).length));
      ctx.progress(1);
    },
    // The private copy lives under the live system's /tmp: never left behind.
    async (install) => {
      await install.prepared?.remove();
      return null;
    },
  );
}

export interface CheckedAs {
  firmware: Firmware;
  // How the firmware was decided, for the log.
  firmwareLine: string;
  user: string | undefined;
  desktop: string | undefined;
  // A flake's configuration may be chosen by host name, Calamares' or the answer file's.
  hostname: string | undefined;
}

// Every mismatch is known before anything is written to the target (or, unattended, to the disk);
// AFTER checks what the install kind adds (room on the target, the disk).
export function validateStage(checkedAs: (install: InstallRun) => CheckedAs, after: (install: InstallRun, validation: ValidationResult) => Promise<void>): Stage {
  return defineStage('validate', async (install) => {
    const { ctx, request, source, settings } = install;
    const { firmware, firmwareLine, user, desktop, hostname } = checkedAs(install);
    ctx.log('daemon', firmwareLine);
    const validation = (install.validation = await validateConfig(
      ctx,
      {
        source,
        firmware,
        prepared: install.prepared!,
        ...(user !== undefined && { user }),
        ...(desktop !== undefined && { desktop }),
        ...(request.flakeConfig !== undefined && { flakeConfig: request.flakeConfig }),
        ...(hostname !== undefined && { hostname }),
      },
      settings,
      install.validationCache,
    ));
    if (validation.choices) {
      install.choices = validation.choices;
      for (const choice of validation.choices) ctx.log('daemon', `installer choice: ${choiceLine(choice)}`);
    }
    if (validation.grub) ctx.log('daemon', validation.grub.text);
    if (ctx.signal.aborted) throw new InstallCancelled();
    if (!validation.ok) throw validationError(validation);
    await after(install, validation);
  });
}

// The prepared copy goes to <root>/etc/nixos; SECRETS are files of the folder only root may read there.
export function stageConfigStage(secrets?: (install: InstallRun) => string[]): Stage {
  return defineStage('stage', async (install) => {
    const { ctx, source } = install;
    install.targetTouched = true;
    const staged = await stageConfig(ctx, install.prepared!.folder, source, 'roots-alone');
    if (secrets) await protectStagedSecrets(ctx, source, staged.etcNixos, secrets(install));
    await markStagedConfig(ctx);
    ctx.progress(1);
  });
}

// The prepared copy is what was checked and staged (for a flake, every input it locks is in the store);
// the eval user can read it, where the staged copy keeps files only root may read.
export const buildStage = defineStage('build', async (install) => {
  install.toplevel = await buildSystem(install.ctx, install.prepared!.folder, install.source, install.validation?.facts?.flake?.configuration);
  install.ctx.progress(1);
});

export const copyStage = defineStage('copy', async (install) => {
  const flake = install.validation?.facts?.flake;
  const flakeInputs = flake?.inputs ?? [];
  await copyClosure(install.ctx, install.toplevel!, flakeInputs.map((input) => input.storePath!));
  if (flake?.configuration !== undefined) await keepFlakeInputs(install.ctx, flakeInputs);
});

// Profile, boot loader, activation; THEN what the install kind adds on the installed system.
export function installStage(then?: (install: InstallRun) => Promise<void>): Stage {
  return defineStage('install', async (install) => {
    // What nixos-install enters, checked again as it is about to (the copy made the store's folders).
    await checkTargetFolders(install.ctx.root);
    await runNixosInstall(install.ctx, install.toplevel!);
    if (then) await then(install);
    install.ctx.progress(1);
  });
}

// The install log goes to the target once anything was written there, however the install ended.
export const reportStage = defineStage(
  'report',
  async () => {},
  async (install) => {
    if (!install.targetTouched) return null;
    const { logger, flush } = install.log;
    try {
      flush();
      const written = await writeTargetLog(install.ctx.root, install.logPath, install.ctx.installId);
      install.targetLogPath = written.path;
      if (written.kept) logger.info({ kept: written.kept }, `kept the earlier install's log on the target as ${written.kept}`);
    } catch (copyError) {
      logger.warn({ err: copyError }, 'could not write the install log to the target');
    }
    return null;
  },
);
