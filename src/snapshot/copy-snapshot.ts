// Copies a scanned configuration folder into a folder of root's, entry by
// entry through descriptors: each source entry is opened without following
// links and must be the very inode the scan saw (a file swapped for a link
// mid-copy is noticed, never read through), and each copy is created fresh
// beneath the destination (kept 0700 by the caller until it is complete).
// The copy belongs to root: files 0644, or 0600 when the source was not
// world-readable (executables keep their x bits), folders 0755, links as
// they are, no setuid, setgid or sticky bits (RULES may add a group's read).
// A destination that holds an earlier copy of the same folder (HOLDS) is
// brought up to date: only entries the source changed since are written.
import type { Beneath } from '../fs/beneath.js';
import { InstallCancelled } from '../common/install-error.js';
import type { SourceEntry, SourceScan } from './scan-source.js';

// Files of one folder copied at once: enough to keep the disk busy with small files.
const PARALLEL_FILES = 16;

// The folder changed since the scan: the caller scans and copies again.
export class SourceChanged extends Error {}

export function stagedFileMode(sourceMode: number): number {
  const readable = (sourceMode & 0o004) !== 0 ? 0o644 : 0o600;
  return (sourceMode & 0o111) !== 0 ? readable | (readable >> 2) : readable;
}

// Owner group and modes of what is copied.
export interface CopyRules {
  gid: number;
  fileMode(sourceMode: number): number;
  dirMode: number;
}

// The staged copy's: root's alone.
export const STAGED: CopyRules = { gid: 0, fileMode: stagedFileMode, dirMode: 0o755 };

// What a destination holds from earlier copies: each entry's path and the stamp of the source entry it is a copy of.
export type Holdings = Map<string, string>;

interface Copying {
  rules: CopyRules;
  holds: Holdings;
  // TO held something before: what is stale there goes first.
  update: boolean;
  children: Map<string, SourceEntry[]>;
  written: number;
  // Looked at between batches: a cancelled copy (a daemon stopping mid-way through 1 GB) ends within one batch.
  signal: AbortSignal | undefined;
}

function sameInode(info: { dev: number | bigint; ino: number | bigint }, entry: SourceEntry): boolean {
  return BigInt(info.dev) === entry.dev && BigInt(info.ino) === entry.ino;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

async function copyFile(from: Beneath, to: Beneath, entry: SourceEntry, rules: CopyRules): Promise<void> {
  const name = baseName(entry.path);
  const source = await from.openFile(name).catch(() => {
    throw new SourceChanged(`${entry.path} is no longer a regular file`);
  });
  try {
    const info = await source.stat({ bigint: true });
    if (!sameInode(info, entry)) throw new SourceChanged(`${entry.path} was replaced`);
    const copy = await to.copyInto(source, name, 0o600);
    try {
      await copy.chown(0, rules.gid);
      await copy.chmod(rules.fileMode(Number(info.mode & 0o7777n)));
      await copy.utimes(new Date(Number(info.atimeNs / 1_000_000n)), new Date(Number(info.mtimeNs / 1_000_000n)));
    } finally {
      await copy.close();
    }
  } finally {
    await source.close();
  }
}

async function copyLink(from: Beneath, to: Beneath, entry: SourceEntry): Promise<void> {
  const name = baseName(entry.path);
  const target = await from.readlink(name).catch(() => null);
  if (target !== entry.target) throw new SourceChanged(`${entry.path} changed`);
  await to.symlink(target, name);
}

// Removes from TO what is not a current copy of an entry of the source (gone, or changed since it was copied); returns the names left.
async function dropStale(to: Beneath, entries: readonly SourceEntry[], job: Copying): Promise<Set<string>> {
  const wanted = new Map(entries.map((e) => [baseName(e.path), e]));
  const left = new Set<string>();
  for (const name of await to.list()) {
    const entry = wanted.get(name);
    const current = entry !== undefined && (entry.kind === 'dir' ? (await to.lstat(name))?.isDirectory() === true : job.holds.get(entry.path) === entry.stamp);
    if (current) left.add(name);
    else {
      await to.remove(name);
      if (entry) job.holds.delete(entry.path);
    }
  }
  return left;
}

// Copies the entries under REL (whose folders FROM and TO are open), folder by folder.
async function copyFolder(from: Beneath, to: Beneath, rel: string, job: Copying): Promise<void> {
  const entries = job.children.get(rel) ?? [];
  const present = job.update ? await dropStale(to, entries, job) : new Set<string>();
  const files = entries.filter((e) => e.kind === 'file' && !present.has(baseName(e.path)));
  for (let i = 0; i < files.length; i += PARALLEL_FILES) {
    if (job.signal?.aborted) throw new InstallCancelled();
    await Promise.all(
      files.slice(i, i + PARALLEL_FILES).map(async (e) => {
        await copyFile(from, to, e, job.rules);
        job.holds.set(e.path, e.stamp);
        job.written++;
      }),
    );
  }
  for (const entry of entries) {
    const name = baseName(entry.path);
    if (entry.kind === 'symlink' && !present.has(name)) {
      await copyLink(from, to, entry);
      job.holds.set(entry.path, entry.stamp);
      job.written++;
    }
    if (entry.kind !== 'dir') continue;
    const subFrom = await from.dir(name).catch(() => {
      throw new SourceChanged(`${entry.path} is no longer a folder`);
    });
    try {
      if (!sameInode(await subFrom.stat(), entry)) throw new SourceChanged(`${entry.path} was replaced`);
      if (!present.has(name)) await to.mkdir(name, 0o700);
      const subTo = await to.dir(name);
      try {
        await copyFolder(subFrom, subTo, entry.path, job);
        // Only the destination itself stays closed until the end.
        if (job.rules.gid !== 0) await subTo.chown(0, job.rules.gid);
        await subTo.chmod(job.rules.dirMode);
      } finally {
        await subTo.close();
      }
    } finally {
      await subFrom.close();
    }
  }
}

// Copies what SCAN found in FROM into TO, a new folder; or, with HOLDS (what TO holds already, kept up to date), one
// that holds an earlier copy. Returns how many files and links were written. Cancelled with SIGNAL, HOLDS still
// says what TO holds (each file is recorded once it is whole).
export async function copySnapshot(from: Beneath, to: Beneath, scan: SourceScan, rules: CopyRules = STAGED, holds?: Holdings, signal?: AbortSignal): Promise<number> {
  const children = new Map<string, SourceEntry[]>();
  for (const entry of scan.entries) {
    const parent = entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : '';
    const list = children.get(parent) ?? [];
    list.push(entry);
    children.set(parent, list);
  }
  const job: Copying = { rules, holds: holds ?? new Map(), update: holds !== undefined, children, written: 0, signal };
  await copyFolder(from, to, '', job);
  return job.written;
}
