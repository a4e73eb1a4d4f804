// What the running kernel can do, asked before the disk is touched: mount the
// layout's file systems, and map LUKS devices. A module not loaded yet counts
// when modprobe can find it (mount and cryptsetup load it on demand).
import { access, readFile } from 'node:fs/promises';
import type { CommandContext } from '../common/context.js';
import { runStageCommand } from '../common/run-stage-command.js';
import { InstallCancelled, InstallError } from '../common/install-error.js';

async function loadable(ctx: CommandContext, module: string): Promise<boolean> {
  if (await access(`/sys/module/${module}`).then(() => true, () => false)) return true;
  try {
    await runStageCommand(ctx, { file: 'modprobe', args: ['--dry-run', '--quiet', module], failure: () => new InstallError('module-missing', module, '') });
    return true;
  } catch (error) {
    if (error instanceof InstallCancelled) throw error;
    return false;
  }
}

// File system types the kernel can neither mount now nor load a module for.
export async function missingFilesystems(ctx: CommandContext, types: readonly string[]): Promise<string[]> {
  const known = (await readFile('/proc/filesystems', 'utf8').catch(() => '')).split('\n').map((line) => line.split('\t').at(-1)!.trim());
  const missing: string[] = [];
  for (const type of types) if (!known.includes(type) && !(await loadable(ctx, type))) missing.push(type);
  return missing;
}

// Why LUKS cannot run here, or null when it can.
export async function luksUnsupported(ctx: CommandContext): Promise<string | null> {
  // Not /dev/mapper/control: libdevmapper makes that node itself, whether the kernel has device-mapper or not.
  const misc = await readFile('/proc/misc', 'utf8').catch(() => '');
  const mapper = /\sdevice-mapper$/m.test(misc) || (await loadable(ctx, 'dm_mod'));
  if (!mapper) return 'this kernel has no device-mapper (not in /proc/misc, no dm_mod module), which opening a LUKS device needs';
  if (!(await loadable(ctx, 'dm_crypt'))) return 'this kernel has no dm-crypt (no dm_crypt module), which opening a LUKS device needs';
  return null;
}
