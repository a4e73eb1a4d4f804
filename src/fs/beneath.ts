// Acting inside a folder without ever following a link: each path component is
// opened on its own with O_NOFOLLOW relative to the folder opened before it,
// as openat(2) would. Node has no openat, so the parent's descriptor is named
// /proc/self/fd/<n>/<name>: the kernel resolves the descriptor, then only the
// one name inside it, and O_NOFOLLOW (or mkdir/rename/symlink, which never
// follow their last component) keeps a link from being followed. `..` is never
// opened. Folders opened in a "root's" tree must be owned by root and not
// writable by group or others (sticky folders excepted), so nobody else can
// swap a name between two steps.
import { constants, type Stats } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readlink, rename, rm, symlink, type FileHandle } from 'node:fs/promises';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW } = constants;
// Descriptors opened on their own keep nothing else open beneath them.
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

// A path inside the tree that is not what it must be: a link, a file where a
// folder belongs, or a folder someone else could change.
export class UnsafePathError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} ${reason}`);
    this.name = 'UnsafePathError';
  }
}

export interface TreeRules {
  // Every folder passed through is root's and not writable by group or others (unless sticky).
  rootOwned: boolean;
}

// Why a folder's owner or mode lets someone other than root change it, or null.
export function notRootsOnly(info: Pick<Stats, 'uid' | 'mode'>): string | null {
  if (info.uid !== 0) return `is owned by uid ${info.uid}, not root`;
  const sticky = (info.mode & 0o1000) !== 0;
  if ((info.mode & 0o022) !== 0 && !sticky) return `is writable by ${(info.mode & 0o020) !== 0 ? 'its group' : 'others'} (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return null;
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new Error(`"${name}" is not a single path component`);
}

function components(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  for (const part of parts) checkName(part);
  return parts;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

export class Beneath {
  private constructor(
    private readonly handle: FileHandle,
    // For messages only: every operation goes through the descriptor.
    readonly path: string,
    readonly rules: TreeRules,
  ) {}

  // Opens PATH itself (not following a link there); the caller has checked the components above it.
  static async open(path: string, rules: TreeRules): Promise<Beneath> {
    const handle = await Beneath.openDirectory(path, path);
    const dir = new Beneath(handle, path, rules);
    await dir.checkFolder(await handle.stat(), path).catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    return dir;
  }

  private static async openDirectory(at: string, shown: string): Promise<FileHandle> {
    try {
      return await open(at, DIR_FLAGS);
    } catch (error) {
      // A link gives ELOOP or (with O_DIRECTORY) ENOTDIR, as a file does: lstat tells which.
      if (code(error) !== 'ELOOP' && code(error) !== 'ENOTDIR') throw error;
      const isLink = (await lstat(at).catch(() => null))?.isSymbolicLink();
      throw new UnsafePathError(shown, isLink ? 'is a symbolic link; links inside the target are not followed' : 'is not a folder');
    }
  }

  get fd(): number {
    return this.handle.fd;
  }

  // The name NAME inside this folder, for a system call that does not follow its last component.
  at(name: string): string {
    checkName(name);
    return `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  shown(name: string): string {
    return `${this.path}/${name}`;
  }

  private async checkFolder(info: Stats, shown: string): Promise<void> {
    if (!info.isDirectory()) throw new UnsafePathError(shown, 'is not a folder');
    const why = this.rules.rootOwned ? notRootsOnly(info) : null;
    if (why) throw new UnsafePathError(shown, why);
  }

  stat(): Promise<Stats> {
    return this.handle.stat();
  }

  // This folder's own mode and owner, through its descriptor.
  async chmod(mode: number): Promise<void> {
    await this.handle.chmod(mode);
  }

  async chown(uid: number, gid: number): Promise<void> {
    await this.handle.chown(uid, gid);
  }

  // The folder REL ('a/b') beneath this one, each part opened without following links; with `create`, missing parts are made with that mode.
  async dir(rel: string, options: { create?: number } = {}): Promise<Beneath> {
    let current: Beneath = this;
    try {
      for (const name of components(rel)) {
        if (options.create !== undefined) {
          await mkdir(current.at(name), options.create).catch((error: unknown) => {
            if (code(error) !== 'EEXIST') throw error;
          });
        }
        const shown = current.shown(name);
        const handle = await Beneath.openDirectory(current.at(name), shown);
        const next = new Beneath(handle, shown, this.rules);
        if (current !== this) await current.close();
        current = next;
        await current.checkFolder(await handle.stat(), shown);
      }
    } catch (error) {
      if (current !== this) await current.close();
      throw error;
    }
    // REL named no component: a second descriptor of this folder (through "/.", as O_NOFOLLOW refuses the /proc link itself), so the caller can close both.
    return current === this ? new Beneath(await Beneath.openDirectory(`/proc/self/fd/${this.fd}/.`, this.path), this.path, this.rules) : current;
  }

  // lstat of NAME, or null when it does not exist.
  async lstat(name: string): Promise<Stats | null> {
    return lstat(this.at(name)).catch((error: unknown) => {
      if (code(error) === 'ENOENT') return null;
      throw error;
    });
  }

  async list(): Promise<string[]> {
    return readdir(`/proc/self/fd/${this.fd}`);
  }

  // A regular file NAME for reading; a link or anything else is refused.
  async openFile(name: string): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await open(this.at(name), O_RDONLY | O_NOFOLLOW);
    } catch (error) {
      if (code(error) === 'ELOOP') throw new UnsafePathError(this.shown(name), 'is a symbolic link; it is not followed');
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new UnsafePathError(this.shown(name), 'is not a regular file');
    }
    return handle;
  }

  // A new file NAME (never an existing one, never through a link), for writing.
  async createFile(name: string, mode: number): Promise<FileHandle> {
    return open(this.at(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  }

  // A new file NAME holding the bytes of the open file FROM (copy_file_range where the kernel allows).
  async copyInto(from: FileHandle, name: string, mode: number): Promise<FileHandle> {
    const to = await this.createFile(name, mode);
    try {
      // Both ends named by descriptor: the exact inodes opened, no path looked up again.
      await copyFile(`/proc/self/fd/${from.fd}`, `/proc/self/fd/${to.fd}`);
      return to;
    } catch (error) {
      await to.close();
      throw error;
    }
  }

  async mkdir(name: string, mode: number): Promise<void> {
    await mkdir(this.at(name), mode);
  }

  async symlink(target: string, name: string): Promise<void> {
    await symlink(target, this.at(name));
  }

  async readlink(name: string): Promise<string> {
    return readlink(this.at(name));
  }

  // Renames NAME here to TO_NAME in TO (replacing a file or link there, never following one).
  async rename(name: string, to: Beneath, toName: string): Promise<void> {
    await rename(this.at(name), to.at(toName));
  }

  // Removes NAME and, for a folder, everything in it (links are removed, not followed).
  async remove(name: string): Promise<void> {
    await rm(this.at(name), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

// Runs FN with the folder open, and closes it whatever happens.
export async function withDir<T>(dir: Promise<Beneath>, fn: (dir: Beneath) => Promise<T>): Promise<T> {
  const opened = await dir;
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}
