// Reads a folder into a comparable map: every entry's kind, and a file's bytes
// or a link's target, so two trees can be compared byte for byte.
import { createHash } from 'node:crypto';
import { cp, lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export async function readTree(dir: string): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  async function walk(abs: string, rel: string) {
    for (const name of (await readdir(abs)).sort()) {
      const path = join(abs, name);
      const key = rel ? `${rel}/${name}` : name;
      const info = await lstat(path);
      if (info.isSymbolicLink()) tree.set(key, `link:${await readlink(path)}`);
      else if (info.isDirectory()) {
        tree.set(key, 'dir');
        await walk(path, key);
      } else tree.set(key, `file:${createHash('sha256').update(await readFile(path)).digest('hex')}`);
    }
  }
  await walk(dir, '');
  return tree;
}

export async function copyFixture(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true, verbatimSymlinks: true });
}
