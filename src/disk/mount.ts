// Mounts the new file systems under the install's own mount point (root, then
// the EFI system partition at /boot) and turns the swap on, so that
// nixos-generate-config sees them as the NixOS manual has it. Each is recorded
// in the session for the teardown.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import type { DiskSession } from './disk-session.js';
import type { Formatted } from './format.js';

async function mount(ctx: JobContext, session: DiskSession, args: string[], device: string, where: string): Promise<void> {
  await runStageCommand(ctx, {
    file: 'mount',
    args: [...args, device, where],
    failure: (r) => new InstallError('mount-failed', `Mounting ${device} failed`, `mount ${[...args, device, where].join(' ')} exited with ${r.exitCode}:\n${lastLines(ctx, 'mount')}\nThe kernel may lack the file system's driver (dmesg says); start the install again after checking.`),
  });
  session.mounts.push(where);
}

export async function mountTarget(ctx: JobContext, session: DiskSession, formatted: Formatted): Promise<void> {
  const root = session.mountPoint;
  await mount(ctx, session, ['-t', 'ext4'], formatted.root, root);
  ctx.progress(0.4);
  if (formatted.esp) {
    const boot = join(root, 'boot');
    await mkdir(boot, { mode: 0o755 });
    // The ESP holds boot loader files only root should read (the NixOS manual's umask=077).
    await mount(ctx, session, ['-t', 'vfat', '-o', 'umask=0077'], formatted.esp, boot);
  }
  ctx.progress(0.8);
  if (formatted.swap) {
    await runStageCommand(ctx, {
      file: 'swapon',
      args: [formatted.swap],
      failure: (r) => new InstallError('mount-failed', `Turning on swap on ${formatted.swap} failed`, `swapon ${formatted.swap} exited with ${r.exitCode}:\n${lastLines(ctx, 'swapon')}`),
    });
    session.swaps.push(formatted.swap);
  }
  ctx.log('mount', `mounted the target at ${root}${formatted.esp ? ` (EFI system partition at ${join(root, 'boot')})` : ''}${formatted.swap ? `; swap on ${formatted.swap}` : ''}`);
  ctx.progress(1);
}
