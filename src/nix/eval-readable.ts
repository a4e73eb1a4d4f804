// The Nix files the eval user evaluates besides the configuration: this
// product's nix/ (config-facts.nix) and the NixOS expression. On the ISO they
// are in the store, which every user may read; from a checkout in a folder only
// root may enter (a `mktemp -d` clone, /root/x) the eval user cannot reach
// them. The daemon then copies what it cannot reach, once at start, into a folder next to the
// eval user's home (root's, 0755), keeping each file's own mode: the eval user
// reads what the files' modes allow, not more, and cannot change the copies.
// The Nix commands' callers map the paths through evalReadable().
import { chmod, cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';

let copies: Array<{ original: string; copy: string }> = [];

// PATH, or the same path in the eval user's readable copy when the daemon made one.
export function evalReadable(path: string): string {
  for (const { original, copy } of copies) {
    if (path === original) return copy;
    if (path.startsWith(original + sep)) return join(copy, relative(original, path));
  }
  return path;
}

// Whether USER may reach PATH and read it by the modes of PATH and every folder above it.
async function reachableBy(path: string, user: { uid: number; gid: number }): Promise<boolean> {
  const allows = (info: { mode: number; uid: number; gid: number }, bit: number) =>
    (info.mode & (info.uid === user.uid ? bit << 6 : info.gid === user.gid ? bit << 3 : bit)) !== 0;
  try {
    for (let folder = dirname(path); ; folder = dirname(folder)) {
      if (!allows(await stat(folder), 0o1)) return false;
      if (folder === dirname(folder)) break;
    }
    const info = await stat(path);
    return allows(info, 0o4) && (!info.isDirectory() || allows(info, 0o1));
  } catch {
    return false;
  }
}

// Paths the eval user can read as they are: search-path entries (<nixpkgs/nixos>), and paths its permissions reach.
async function readableAsIs(path: string, user: { uid: number; gid: number }): Promise<boolean> {
  return /^<.*>$/.test(path) || (await reachableBy(path, user));
}

// Copies those of PATHS (folders or files) USER cannot reach into a fresh folder in PARENT (root's, and
// only root may change it: the eval home's parent); returns that folder, or null when nothing needed a copy.
export async function makeEvalReadable(parent: string, user: { uid: number; gid: number }, paths: readonly string[]): Promise<string | null> {
  const unique = [...new Set(paths)];
  const asIs = await Promise.all(unique.map((p) => readableAsIs(p, user)));
  const wanted = unique.filter((_, i) => !asIs[i]);
  copies = [];
  if (wanted.length === 0) return null;
  const folder = await mkdtemp(join(parent, 'eval-expressions-'));
  try {
    const made: typeof copies = [];
    for (const [i, original] of wanted.entries()) {
      // One folder per path, so two paths with the same name do not meet; the name is kept (Nix shows it in traces).
      const slot = join(folder, String(i));
      await cp(original, join(slot, basename(original)), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      await chmod(slot, 0o755);
      made.push({ original, copy: join(slot, basename(original)) });
    }
    await chmod(folder, 0o755);
    copies = made;
    return folder;
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

export async function removeEvalReadable(folder: string | null): Promise<void> {
  copies = [];
  if (folder) await rm(folder, { recursive: true, force: true });
}
