// Copies one file of a snapshot with synchronous calls, on a worker thread of
// src/snapshot/copy-files.ts: opened without following links, checked to be the
// inode the scan saw, copied into a new file created beneath the destination
// folder, then given its owner, mode and times. Run asynchronously, each of
// these calls was a hop through libuv's thread pool (the stage took 1.7 × one
// `cp -a`). Only node: modules are imported: the worker loads this file alone.
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, openSync, readSync, writeSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

// The worker's data that makes this module a copier (a test runner's own worker threads import it too).
export const COPIER = 'nixos-offline-installer file copier';
// Read and written at a time: a cancelled copy (the worker ended) stops within one chunk.
const CHUNK = 1 << 20;

export interface FileCopy {
  // Descriptors of the source and destination folders (the process's, shared with the worker).
  from: number;
  to: number;
  name: string;
  // The entry's path in the folder, for messages.
  shown: string;
  // The inode the scan saw, as decimal strings (bigints do not cross to a worker as such).
  dev: string;
  ino: string;
  // The copy's owner group and mode.
  gid: number;
  mode: number;
  // The source folder is root's alone (scanned once, not after the copy): so must the file be.
  rootsAlone: boolean;
}

export type FileCopyResult = { ok: true } | { changed: string } | { error: { message: string; code?: string; syscall?: string } };

let buffer: Buffer | null = null;

function copyBytes(source: number, copy: number): void {
  buffer ??= Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const read = readSync(source, buffer, 0, CHUNK, null);
    if (read === 0) return;
    for (let written = 0; written < read; ) written += writeSync(copy, buffer, written, read - written);
  }
}

export function copyFile(job: FileCopy): FileCopyResult {
  let source: number;
  try {
    // O_NONBLOCK: a pipe swapped in for the file is refused below, not waited on.
    source = openSync(`/proc/self/fd/${job.from}/${job.name}`, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return { changed: `${job.shown} is no longer a regular file` };
  }
  try {
    const info = fstatSync(source, { bigint: true });
    if (!info.isFile()) return { changed: `${job.shown} is no longer a regular file` };
    if (String(info.dev) !== job.dev || String(info.ino) !== job.ino) return { changed: `${job.shown} was replaced` };
    if (job.rootsAlone && (info.uid !== 0n || (info.mode & 0o022n) !== 0n)) {
      return { error: { message: `${job.shown} is not root's alone (owner uid ${info.uid}, mode ${(info.mode & 0o7777n).toString(8)}), in a folder only the installer writes` } };
    }
    const copy = openSync(`/proc/self/fd/${job.to}/${job.name}`, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      copyBytes(source, copy);
      fchownSync(copy, 0, job.gid);
      fchmodSync(copy, job.mode);
      futimesSync(copy, Number(info.atimeNs) / 1e9, Number(info.mtimeNs) / 1e9);
    } finally {
      closeSync(copy);
    }
    return { ok: true };
  } catch (error) {
    const { message, code, syscall } = error as NodeJS.ErrnoException;
    return { error: { message, code, syscall } };
  } finally {
    closeSync(source);
  }
}

if (!isMainThread && workerData === COPIER) {
  parentPort!.on('message', (jobs: FileCopy[]) => parentPort!.postMessage(jobs.map(copyFile)));
}
