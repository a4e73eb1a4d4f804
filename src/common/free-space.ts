// Is there room on the target for the system? Refused up front rather than
// after filling the disk (or, unmounted, the live system's memory) for minutes.
import { statfs } from 'node:fs/promises';
import { InstallError } from './install-error.js';

// Room needed beyond the closure's NAR size: what nixos-install writes besides
// it (profile links, boot files, the Nix database grows with every path), and
// files being slightly larger on disk than in a NAR (block rounding).
export const HEADROOM_BYTES = 256 * 1024 * 1024;
export const HEADROOM_FRACTION = 0.1;

export function neededBytes(closureBytes: number): number {
  return Math.ceil(closureBytes * (1 + HEADROOM_FRACTION)) + HEADROOM_BYTES;
}

// "7.9 GB", "512 MB": decimal units, as df -H and disk labels count.
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1e3)} kB`;
}

export async function freeBytes(path: string): Promise<number> {
  const info = await statfs(path);
  return info.bavail * info.bsize;
}

// WHAT names where CLOSURE_BYTES comes from, for the message.
export async function checkFreeSpace(root: string, closureBytes: number, what: string): Promise<void> {
  const needed = neededBytes(closureBytes);
  const free = await freeBytes(root);
  if (free >= needed) return;
  throw new InstallError(
    'target-too-small',
    `Not enough space on the target: needs ${formatBytes(needed)}, ${root} has ${formatBytes(free)} free`,
    `The system to install is ${formatBytes(closureBytes)} (${what}); with room for the boot loader, the Nix database and rounding, the install needs ${formatBytes(needed)}, and the filesystem at ${root} has ${formatBytes(free)} free. ` +
      `Choose a larger partition (or free space on it: df -h ${root}), then start the install again.`,
  );
}
