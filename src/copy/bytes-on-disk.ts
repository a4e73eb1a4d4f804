// How many bytes of a store path are already written under the target root:
// file sizes plus link targets, the same things a NAR holds.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export async function bytesOnDisk(path: string): Promise<number> {
  const info = await lstat(path).catch(() => null);
  if (!info) return 0;
  if (info.isFile()) return info.size;
  if (info.isSymbolicLink()) return (await readlink(path).catch(() => '')).length;
  if (!info.isDirectory()) return 0;
  const names = await readdir(path).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) total += await bytesOnDisk(join(path, name));
  return total;
}
