// Worker threads that copy a snapshot's files (src/snapshot/file-copier.ts): the
// copy's calls are made synchronously on each, so 10 000 small files cost their
// system calls, not a hop through libuv's thread pool per call, and the event
// loop stays free for status requests and cancels. Batches of files are queued
// and taken by whichever worker is free, so the walk of the next folder goes on
// while the last one's files are copied.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { COPIER, type FileCopy, type FileCopyResult } from './file-copier.js';

// The compiled copier beside this file; under vitest, which runs the sources, the .ts one (Node 24 strips its types).
const COPIER_FILE = new URL(`./file-copier.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
// Workers at most: the copy is bound by the kernel's copying and the disk, and more threads only share them.
const MAX_WORKERS = 4;
// Files in one batch: one message each way per batch.
export const BATCH_FILES = 32;
// Batches queued or in progress per worker before the walk waits: bounds the folders held open meanwhile.
const QUEUED_PER_WORKER = 4;

interface Batch {
  jobs: readonly FileCopy[];
  resolve(results: FileCopyResult[]): void;
  reject(error: Error): void;
}

export class FilePool {
  private readonly idle: Worker[] = [];
  private readonly workers: Worker[];
  private readonly queue: Batch[] = [];
  private readonly running = new Map<Worker, Batch>();
  private readonly waiting: (() => void)[] = [];
  private failure: Error | null = null;
  private stopped: Promise<void> | null = null;

  // Enough workers for FILES files.
  constructor(files: number) {
    const count = Math.max(1, Math.min(MAX_WORKERS, availableParallelism(), Math.ceil(files / BATCH_FILES)));
    this.workers = Array.from({ length: count }, () => {
      const worker = new Worker(COPIER_FILE, { workerData: COPIER });
      worker.on('message', (results: FileCopyResult[]) => {
        const batch = this.running.get(worker);
        // Failed meanwhile: refused once every worker has stopped.
        if (!batch || this.failure) return;
        this.running.delete(worker);
        this.idle.push(worker);
        batch.resolve(results);
        this.next();
      });
      worker.on('error', (error) => void this.fail(error));
      worker.on('exit', (code) => void this.fail(new Error(`the file copier thread ended (exit code ${code})`)));
      return worker;
    });
    this.idle.push(...this.workers);
  }

  // Resolves once another batch may be queued (the queue is short enough).
  async room(): Promise<void> {
    while (this.failure === null && this.queue.length + this.running.size >= this.workers.length * QUEUED_PER_WORKER) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  // Copies JOBS (at most BATCH_FILES) on the next free worker; each file's result, in order.
  copy(jobs: readonly FileCopy[]): Promise<FileCopyResult[]> {
    return new Promise((resolve, reject) => {
      if (this.failure) return void this.stopped!.then(() => reject(this.failure));
      this.queue.push({ jobs, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    for (const wake of this.waiting.splice(0)) wake();
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const batch = this.queue.shift()!;
      this.running.set(worker, batch);
      worker.postMessage(batch.jobs);
    }
  }

  // Refuses every batch not done, once no worker runs any more: a batch settles only when no thread can still use
  // the folders it names (their descriptors are closed then, and a number reused at once names another folder).
  private fail(error: Error): Promise<void> {
    if (this.failure) return this.stopped!;
    this.failure = error;
    for (const wake of this.waiting.splice(0)) wake();
    this.stopped = Promise.all(this.workers.map((worker) => worker.terminate())).then(() => {
      for (const batch of [...this.queue.splice(0), ...this.running.values()]) batch.reject(error);
      this.running.clear();
    });
    return this.stopped;
  }

  // Ends the workers, a file in progress within one chunk (what they wrote stays for the caller to remove).
  close(): Promise<void> {
    return this.fail(new Error('the file copier was closed'));
  }
}
