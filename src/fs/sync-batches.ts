// Many small file system calls made synchronously, a batch at a time, the event
// loop served between batches. Made asynchronously, each lstat or link is a hop
// through libuv's thread pool that costs more than the call itself; made so, a
// status request still waits at most one batch.
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';

// Calls per batch: a few milliseconds of lstat or link.
const BATCH = 512;

// FN on each of ITEMS in order, synchronously, yielding to the event loop after every BATCH calls.
export async function inSyncBatches<T>(items: Iterable<T>, fn: (item: T) => void): Promise<void> {
  let done = 0;
  for (const item of items) {
    fn(item);
    if (++done % BATCH === 0) await nextTurn();
  }
}

// The names in folder DIR, sorted, each with its lstat (links not followed), in synchronous batches.
export async function lstatEntries(dir: string): Promise<{ names: string[]; infos: BigIntStats[] }> {
  const names = readdirSync(dir).sort();
  const infos: BigIntStats[] = [];
  await inSyncBatches(names, (name) => infos.push(lstatSync(join(dir, name), { bigint: true })));
  return { names, infos };
}
