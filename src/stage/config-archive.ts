// A fleet target's configuration travels as a tar archive: the seed packs the
// folder it checked and built (the target's hardware configuration in it) and
// the target unpacks it into a fresh private folder, from which the `stage`
// stage copies it to <root>/etc/nixos as any install does. GNU tar, not a
// library: it is on every NixOS system and keeps modes, links and empty folders.
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { runStageCommand } from '../common/run-stage-command.js';

// FOLDER's contents into FILE, owned by root in the archive (the target's /etc/nixos is root's), in name order,
// without the entries at LEAVE_OUT (paths relative to FOLDER, taken literally, not as patterns).
export async function packConfig(ctx: CommandContext, folder: string, file: string, leaveOut: readonly string[] = []): Promise<void> {
  const excluded = leaveOut.map((path) => `--exclude=./${path}`);
  await runStageCommand(ctx, {
    file: 'tar',
    args: ['--create', `--file=${file}`, `--directory=${folder}`, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '--anchored', '--no-wildcards', ...excluded, '--', '.'],
    failure: (r) => new InstallError('config-archive-failed', 'The configuration could not be packed for the target', `tar --create of ${folder} exited with ${r.exitCode}; the seed's log says why. Nothing was written to the target's disk.`),
  });
}

// FILE into the empty FOLDER: files become root's (never an owner from the archive); GNU tar strips
// absolute names and skips members with "..". The stage stage then copies beneath descriptors, through no link.
export async function unpackConfig(ctx: CommandContext, file: string, folder: string): Promise<void> {
  await runStageCommand(ctx, {
    file: 'tar',
    args: ['--extract', `--file=${file}`, `--directory=${folder}`, '--no-same-owner', '--delay-directory-restore'],
    failure: (r) => new InstallError('config-archive-bad', "The seed's copy of the configuration could not be unpacked", `tar --extract of ${file} exited with ${r.exitCode}; the log says why. Network-boot this machine again; if it happens again, the seed's fleet folder may be full or damaged.`),
  });
}
