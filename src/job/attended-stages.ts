// An install into a target that is already mounted (Calamares', the CLI's
// with --root): the person chose the target, the firmware and the user.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TARGET_NIX_DB } from '../copy/closure.js';
import { targetFirmware } from '../prepare/firmware.js';
import { prepareConfig } from '../prepare/prepare-config.js';
import { checkFreeSpace } from '../common/free-space.js';
import { checkTargetRoot } from '../validate/check-target-root.js';
import { manifestFacts } from '../validate/config-facts.js';
import { PARTIAL_TARGET_AGAIN, buildStage, copyStage, hardwareStage, installStage, reportStage, stageConfigStage, validateStage } from './shared-stages.js';
import type { Pipeline } from './stage.js';

export const ATTENDED: Pipeline = {
  async checkRequest(request, root) {
    await checkTargetRoot(root, { allowUnmounted: request.allowUnmounted === true });
  },
  async start({ ctx, request, source }) {
    ctx.log('daemon', `installing from ${source} to ${ctx.root}`);
    if (request.allowUnmounted) ctx.log('daemon', `${ctx.root} may be an unmounted folder (allowUnmounted)`, 'warn');
  },
  stages: [
    hardwareStage(({ ctx, source, request }) => prepareConfig(ctx, source, request)),
    validateStage(
      ({ request }) => {
        const firmware = targetFirmware(request.choices);
        return { firmware, firmwareLine: `this machine starts with ${firmware === 'efi' ? 'UEFI' : 'a BIOS'}`, user: request.user, desktop: request.desktop, hostname: request.choices?.hostname };
      },
      async ({ ctx, ctx: { root }, settings, source }, validation) => {
        // The ISO's manifest knows the closure's size: a fresh target too small for it is refused now, not when full.
        // Also when this machine's hardware made the system differ a little from the shipped one: still the best estimate.
        const closureBytes = validation.facts?.closureBytes ?? (settings.manifest ? (await manifestFacts(settings.manifest, source).catch(() => null))?.closureBytes ?? null : null);
        if (closureBytes !== null && !existsSync(join(root, TARGET_NIX_DB))) await checkFreeSpace(root, closureBytes, 'the ISO manifest\'s closureBytes');
        ctx.progress(1);
      },
    ),
    stageConfigStage(),
    buildStage,
    copyStage,
    installStage(),
    reportStage,
  ],
  again: () => PARTIAL_TARGET_AGAIN,
};
