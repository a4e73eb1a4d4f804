// The fleet's own folder (beside the daemon's socket, under /run on the ISO):
// dnsmasq's configuration and leases, and one file per target. Made afresh for
// each fleet, root's alone; the fleet writes nowhere else.
import { lstat, mkdir, rm } from 'node:fs/promises';
import { FleetError } from './fleet-error.js';

export async function freshStateDir(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  const info = await lstat(dir);
  // Made just now by us: anything else (a link put there meanwhile) is not ours to write into.
  if (!info.isDirectory() || info.uid !== process.getuid?.() || (info.mode & 0o077) !== 0) {
    throw new FleetError('stateDir', `${dir} is not the fleet's own folder`, 'It must be a folder only root may use; something else made it. Remove it and serve the fleet again.');
  }
  return dir;
}
