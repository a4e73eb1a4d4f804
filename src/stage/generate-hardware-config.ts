// Step 2: nixos-generate-config --root <root> writes the target's own
// hardware-configuration.nix. A template one from nix-cfg is kept beside it as
// hardware-configuration.nix.template, not lost; configuration.nix is never
// touched (the tool itself refuses to overwrite it).
import { access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext } from '../step/context.js';
import { InstallError } from '../step/install-error.js';
import { lastLines, runStepCommand } from '../step/run-step-command.js';
import type { PartitionInfo } from '../protocol/messages.js';
import { addLuksSwap, luksSwapDevices } from './luks-swap.js';

export async function generateHardwareConfig(ctx: JobContext, etcNixos: string, partitions: readonly PartitionInfo[] = []): Promise<string> {
  const generated = join(etcNixos, 'hardware-configuration.nix');
  const exists = await access(generated).then(() => true, () => false);
  if (exists) {
    await rename(generated, `${generated}.template`);
    ctx.log('hardware', `kept the configuration's own hardware-configuration.nix as ${generated}.template`);
  }
  await runStepCommand(ctx, {
    file: 'nixos-generate-config',
    args: ['--root', ctx.root],
    failure: (result) =>
      new InstallError(
        'hardware-config-failed',
        'The hardware configuration could not be generated',
        `nixos-generate-config --root ${ctx.root} exited with ${result.exitCode}:\n${lastLines(ctx, 'nixos-generate-config')}\nCheck that the target's partitions are mounted under ${ctx.root}, then start the install again.`,
      ),
  });
  if (!(await access(generated).then(() => true, () => false))) {
    throw new InstallError('hardware-config-failed', 'The hardware configuration was not written', `nixos-generate-config finished but ${generated} does not exist. Check that ${etcNixos} is writable.`);
  }
  const { devices, skipped } = luksSwapDevices(partitions);
  for (const partition of skipped) ctx.log('hardware', `encrypted swap ${partition.device ?? '?'} has no usable mapper name or UUID; declare it in configuration.nix yourself`, 'warn');
  if (devices.length > 0) {
    await addLuksSwap(generated, devices);
    ctx.log('hardware', `declared encrypted swap ${devices.map((d) => d.mapperName).join(', ')} in ${generated}`);
  }
  return generated;
}
