// Which <root>/etc/nixos the installer staged itself: a marker beside it
// (etc/.nixos-offline-installer-staged) holds a digest of the tree it staged (every entry's inode and times).
// An install that finds that tree unchanged replaces it; anything else there
// (the person's own, or ours edited since) is kept as a backup. So a target
// installed again and again gets one backup of what was there before, not one per attempt.
import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Beneath } from '../fs/beneath.js';
import { lstatEntries } from '../fs/sync-batches.js';

export const STAGED_MARKER = '.nixos-offline-installer-staged';

// Names, kinds, modes and link targets of the tree at PATH, and each entry's inode, size, mtime and ctime (links are
// not followed): any write to the tree changes it, and no file is read (a 1 GB folder is not read again to mark it).
async function treeDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string, rel: string): Promise<void> => {
    const { names, infos } = await lstatEntries(dir);
    for (const [index, name] of names.entries()) {
      const full = join(dir, name);
      const info = infos[index]!;
      hash.update(`${rel}${name}\0${info.mode}\0${info.ino}\0${info.size}\0${info.mtimeNs}\0${info.ctimeNs}\0`);
      if (info.isSymbolicLink()) hash.update(`link:${readlinkSync(full)}\0`);
      else if (info.isDirectory()) await walk(full, `${rel}${name}/`);
    }
  };
  await walk(path, '');
  return hash.digest('hex');
}

// Whether etc/nixos is the tree the installer staged, unchanged since.
export async function isOwnStaging(etc: Beneath): Promise<boolean> {
  const marker = await etc.lstat(STAGED_MARKER);
  const folder = await etc.lstat('nixos');
  if (!marker?.isFile() || !folder?.isDirectory()) return false;
  const handle = await etc.openFile(STAGED_MARKER);
  let recorded: string;
  try {
    recorded = (await handle.readFile('utf8')).trim();
  } finally {
    await handle.close();
  }
  return /^[0-9a-f]{64}$/.test(recorded) && recorded === (await treeDigest(etc.at('nixos')));
}

// Records etc/nixos as the installer's own, as it is now.
export async function markOwnStaging(etc: Beneath): Promise<void> {
  const digest = await treeDigest(etc.at('nixos'));
  await etc.remove(STAGED_MARKER);
  const handle = await etc.createFile(STAGED_MARKER, 0o600);
  try {
    await handle.writeFile(`${digest}\n`);
  } finally {
    await handle.close();
  }
}
