// Step 2: nixos-generate-config --root <root> writes the target's own
// hardware-configuration.nix. A template one from nix-cfg is kept beside it as
// hardware-configuration.nix.template, not lost; configuration.nix is never
// touched (the tool itself refuses to overwrite it).
import { join } from 'node:path';
import { Beneath, withDir } from '../fs/beneath.js';
import type { JobContext } from '../step/context.js';
import { InstallError } from '../step/install-error.js';
import { lastLines, runStepCommand } from '../step/run-step-command.js';
import type { PartitionInfo } from '../protocol/messages.js';
import { addLuksSwap, luksSwapDevices } from './luks-swap.js';

const GENERATED = 'hardware-configuration.nix';

// <root>/etc/nixos, opened beneath the root without following links.
function openEtcNixos(root: string): Promise<Beneath> {
  return withDir(Beneath.open(root, { rootOwned: true }), (dir) => dir.dir('etc/nixos'));
}

export async function generateHardwareConfig(ctx: JobContext, etcNixos: string, partitions: readonly PartitionInfo[] = []): Promise<string> {
  const generated = join(etcNixos, GENERATED);
  await withDir(openEtcNixos(ctx.root), async (dir) => {
    if ((await dir.lstat(GENERATED)) === null) return;
    await dir.rename(GENERATED, dir, `${GENERATED}.template`);
    ctx.log('hardware', `kept the configuration's own hardware-configuration.nix as ${generated}.template`);
  });
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
  await withDir(openEtcNixos(ctx.root), async (dir) => {
    if (!(await dir.lstat(GENERATED))?.isFile()) {
      throw new InstallError('hardware-config-failed', 'The hardware configuration was not written', `nixos-generate-config finished but ${generated} is not a file. Check that ${etcNixos} is writable.`);
    }
    const { devices, skipped } = luksSwapDevices(partitions);
    for (const partition of skipped) ctx.log('hardware', `encrypted swap ${partition.device ?? '?'} has no usable mapper name or UUID; declare it in configuration.nix yourself`, 'warn');
    if (devices.length > 0) {
      await addLuksSwap(dir, GENERATED, devices);
      ctx.log('hardware', `declared encrypted swap ${devices.map((d) => d.mapperName).join(', ')} in ${generated}`);
    }
  });
  return generated;
}
