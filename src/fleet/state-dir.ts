// The fleet's own folder (nix/installer-defaults.json's fleet.stateDir, under
// /run on the ISO; NOI_FLEET_DIR): dnsmasq's configuration and leases, the TFTP
// copies, the HTTP socket and one file per target. Made afresh for each fleet,
// root's; others may pass through it (dnsmasq, no longer root, reaches its TFTP
// folder) but not list or change it. The fleet writes nowhere else.
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { FleetError } from './fleet-error.js';

export async function freshStateDir(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o711 });
  const info = await lstat(dir);
  // Made just now by us: anything else (a link put there meanwhile) is not ours to write into.
  if (!info.isDirectory() || info.uid !== process.getuid?.() || (info.mode & 0o066) !== 0) {
    throw new FleetError('stateDir', `${dir} is not the fleet's own folder`, 'It must be a folder only root may change; something else made it. Remove it and serve the fleet again.');
  }
  // A stricter umask than the daemon's 022 would cut the mode; others must still pass through.
  await chmod(dir, 0o711);
  return dir;
}
