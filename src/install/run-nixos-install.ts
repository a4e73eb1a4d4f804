// Stage `install`: nixos-install with the system already built and copied: it sets the
// system profile, installs the boot loader in a chroot and activates. The
// channel is copied when the live system has one, so the installed system can
// rebuild offline.
import { existsSync } from 'node:fs';
import type { JobContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import { OFFLINE_NIX_OPTIONS } from '../nix/options.js';
import { checkedStorePaths } from '../nix/store-path.js';

// nixos-install's own phase lines, as fractions of this stage.
const PHASE_LINES: [RegExp, number][] = [
  [/^copying channel/, 0.2],
  [/^installing the boot loader/, 0.5],
  [/^setting root password/, 0.9],
  [/^installation finished!/, 1],
];

export function nixosInstallArgs(ctx: JobContext, toplevel: string, copyChannel: boolean): string[] {
  return ['--root', ctx.root, '--system', checkedStorePaths([toplevel], 'The system to install')[0]!, '--no-root-passwd', ...(copyChannel ? [] : ['--no-channel-copy']), ...OFFLINE_NIX_OPTIONS];
}

export async function runNixosInstall(ctx: JobContext, toplevel: string): Promise<void> {
  const copyChannel = existsSync(ctx.settings.channelProfile);
  let bootLoader = false;
  await runStageCommand(ctx, {
    file: 'nixos-install',
    args: nixosInstallArgs(ctx, toplevel, copyChannel),
    onLine: (line) => {
      for (const [pattern, fraction] of PHASE_LINES) {
        if (!pattern.test(line)) continue;
        if (fraction === 0.5) bootLoader = true;
        ctx.progress(fraction);
      }
    },
    failure: (result) =>
      new InstallError(
        'nixos-install-failed',
        bootLoader ? 'Installing the boot loader failed' : 'nixos-install failed',
        `nixos-install exited with ${result.exitCode}. Its last lines:\n${lastLines(ctx, 'nixos-install')}\n` +
          `The system is copied to ${ctx.root} but is not bootable yet. ` +
          (bootLoader
            ? 'Check the boot loader settings (boot.loader.*) in configuration.nix against this machine: systemd-boot or GRUB with efiSupport for EFI, GRUB with a device for BIOS, and that the EFI partition is mounted under the target. '
            : '') +
          'Fix it and start the install again; what is already copied is reused.',
      ),
  });
}
