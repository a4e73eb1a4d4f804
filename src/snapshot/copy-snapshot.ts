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
import { BATCH_FILES, FilePool } from './copy-files.js';
import type { FileCopy } from './file-copier.js';

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
  // Copies the files; made at the first file to copy, sized for SIZE_HINT files.
  pool: FilePool | null;
  sizeHint: number;
  // Batches queued, each settled (its folders closed) once copied; the first failure among them.
  queued: Promise<void>[];
  failure: unknown;
  // Folders left open by a failed walk: closed once no worker can use them (src/snapshot/copy-files.ts).
  closeLater: Beneath[];
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

// A promise in an object: an async function's returned promise would be waited for.
interface Queued {
  done: Promise<void>;
}

// Queues the copies of FILES (in the open folders FROM and TO); settles once they are all copied, never rejects (a
// failure is kept in the job, and stops the walk at the next folder or batch).
async function queueFiles(from: Beneath, to: Beneath, files: SourceEntry[], job: Copying): Promise<Queued> {
  if (files.length === 0) return { done: Promise.resolve() };
  job.pool ??= new FilePool(Math.max(job.sizeHint, files.length));
  const batches: Promise<void>[] = [];
  for (let i = 0; i < files.length; i += BATCH_FILES) {
    await job.pool.room();
    if (job.signal?.aborted) throw new InstallCancelled();
    if (job.failure) throw job.failure;
    const batch = files.slice(i, i + BATCH_FILES);
    // The mode is the scan's: a chmod since changes the entry's ctime, so the caller's scan after the copy sees it.
    const copies = batch.map((e): FileCopy => ({ from: from.fd, to: to.fd, name: baseName(e.path), shown: e.path, dev: String(e.dev), ino: String(e.ino), gid: job.rules.gid, mode: job.rules.fileMode(e.mode), rootsAlone: from.rules.rootOwned }));
    const copied = job.pool.copy(copies).then((results) => {
      for (const [index, result] of results.entries()) {
        if ('changed' in result) throw new SourceChanged(result.changed);
        if ('error' in result) throw Object.assign(new Error(result.error.message), result.error);
        job.holds.set(batch[index]!.path, batch[index]!.stamp);
        job.written++;
      }
    });
    batches.push(copied.catch((error: unknown) => void (job.failure ??= error)));
  }
  return { done: Promise.all(batches).then(() => undefined) };
}

// Copies the entries under REL (whose folders FROM and TO are open), folder by folder; returns once all is made or
// queued, with a promise settled once this folder's own files are copied (FROM and TO stay open until then).
async function copyFolder(from: Beneath, to: Beneath, rel: string, job: Copying): Promise<Queued> {
  if (job.failure) throw job.failure;
  const entries = job.children.get(rel) ?? [];
  const present = job.update ? await dropStale(to, entries, job) : new Set<string>();
  const filesCopied = await queueFiles(from, to, entries.filter((e) => e.kind === 'file' && !present.has(baseName(e.path))), job);
  for (const entry of entries) {
    const name = baseName(entry.path);
    if (entry.kind === 'symlink' && !present.has(name)) {
      await copyLink(from, to, entry);
      job.holds.set(entry.path, entry.stamp);
      job.written++;
    }
    if (entry.kind !== 'dir') continue;
    const subFrom = await from.dir(name).catch((error: unknown) => {
      // In a folder only root writes, a folder that others may write is a fault, not an edit.
      if (from.rules.rootOwned) throw error;
      throw new SourceChanged(`${entry.path} is no longer a folder`);
    });
    let subTo: Beneath | null = null;
    try {
      if (!sameInode(await subFrom.stat(), entry)) throw new SourceChanged(`${entry.path} was replaced`);
      if (!present.has(name)) await to.mkdir(name, 0o700);
      subTo = await to.dir(name);
      // Only the destination itself stays closed until the end.
      if (job.rules.gid !== 0) await subTo.chown(0, job.rules.gid);
      await subTo.chmod(job.rules.dirMode);
      const inside = await copyFolder(subFrom, subTo, entry.path, job);
      const [openFrom, openTo] = [subFrom, subTo];
      job.queued.push(inside.done.finally(() => Promise.all([openTo.close(), openFrom.close()])).then(() => undefined));
    } catch (error) {
      job.closeLater.push(subFrom, ...(subTo ? [subTo] : []));
      throw error;
    }
  }
  return filesCopied;
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
  const held = holds ?? new Map<string, string>();
  const sizeHint = scan.entries.filter((e) => e.kind === 'file' && held.get(e.path) !== e.stamp).length;
  const job: Copying = { rules, holds: held, update: holds !== undefined, children, pool: null, sizeHint, queued: [], failure: null, closeLater: [], written: 0, signal };
  const stop = () => void job.pool?.close();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    job.queued.push((await copyFolder(from, to, '', job)).done);
    await Promise.all(job.queued);
    if (signal?.aborted) throw new InstallCancelled();
    if (job.failure) throw job.failure;
    return job.written;
  } catch (error) {
    // A walk stopped by the cancel meets the closed pool's error.
    throw signal?.aborted ? new InstallCancelled() : error;
  } finally {
    signal?.removeEventListener('abort', stop);
    await job.pool?.close();
    await Promise.allSettled(job.queued);
    await Promise.allSettled(job.closeLater.map((dir) => dir.close()));
  }
}
