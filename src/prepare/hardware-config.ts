// The target's own hardware configuration, generated without writing to the
// target (`nixos-generate-config --show-hardware-config --root <root>`), plus
// what the probe cannot see (encrypted swap chosen in Calamares) and the import
// of the installer's choices. It is checked with everything else before the
// target is touched, and written to <root>/etc/nixos only then.
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import type { PartitionInfo } from '../protocol/messages.js';
import { luksSwapDevices, luksSwapNix } from './luks-swap.js';

// ROOT null probes the machine without a mounted target (file systems then are the live system's).
// noFilesystems: the machine's hardware alone, before its disk holds any file system (an unattended install's checks).
export async function showHardwareConfig(ctx: CommandContext, root: string | null, noFilesystems = false): Promise<string> {
  const where = [...(noFilesystems ? ['--no-filesystems'] : []), ...(root === null ? [] : ['--root', root])];
  const result = await runStageCommand(ctx, {
    file: 'nixos-generate-config',
    args: ['--show-hardware-config', ...where],
    captureStdout: true,
    logStdout: false,
    failure: (res) =>
      new InstallError(
        'hardware-config-failed',
        'The hardware configuration could not be generated',
        `nixos-generate-config --show-hardware-config ${where.join(' ')} exited with ${res.exitCode}:\n${lastLines(ctx, 'nixos-generate-config')}\n${root === null ? 'The hardware probe failed on this machine.' : `Check that the target's partitions are mounted under ${root}, then start the install again.`}`,
      ),
  });
  const text = `${result.stdout.join('\n').trimEnd()}\n`;
  if (text.lastIndexOf('}') === -1) {
    throw new InstallError('hardware-config-failed', 'The hardware configuration is not what nixos-generate-config writes', `nixos-generate-config --show-hardware-config printed no Nix attribute set:\n${text.slice(0, 2000)}`);
  }
  return text;
}

// Adds declarations inside the generated file's top-level attribute set.
export function beforeLastBrace(text: string, lines: string): string {
  const end = text.lastIndexOf('}');
  return `${text.slice(0, end)}${lines}${text.slice(end)}`;
}

// The generated file, completed: encrypted swap, and the import of the choices module.
export function completeHardwareConfig(ctx: CommandContext, generated: string, partitions: readonly PartitionInfo[], choicesFile: string | null): string {
  let text = generated;
  const { devices, skipped } = luksSwapDevices(partitions);
  for (const partition of skipped) ctx.log('hardware', `encrypted swap ${partition.device ?? '?'} has no usable mapper name or UUID; declare it in configuration.nix yourself`, 'warn');
  if (devices.length > 0) {
    text = beforeLastBrace(text, luksSwapNix(devices));
    ctx.log('hardware', `declared encrypted swap ${devices.map((d) => d.mapperName).join(', ')} in hardware-configuration.nix`);
  }
  if (choicesFile !== null) {
    // nixos-generate-config always writes an imports list; a file without one gets its own.
    const imports = /^(\s*imports\s*=\s*\[)/m;
    text = imports.test(text) ? text.replace(imports, `$1 ./${choicesFile}`) : beforeLastBrace(text, `  imports = [ ./${choicesFile} ];\n`);
  }
  return text;
}
