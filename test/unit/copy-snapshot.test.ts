// The snapshot copy's file copier threads (src/snapshot/copy-files.ts): a cancel
// ends them and every folder they were given, and a failed write keeps its code.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Beneath } from '../../src/fs/beneath.js';
import { copySnapshot } from '../../src/snapshot/copy-snapshot.js';
import { scanSource } from '../../src/snapshot/scan-source.js';
import { InstallCancelled } from '../../src/common/install-error.js';
import { scratch } from '../helpers/env.js';

let dir: string;
let source: string;
let copy: string;

beforeEach(async () => {
  dir = await scratch('copy-snapshot');
  source = join(dir, 'source');
  copy = join(dir, 'copy');
  await mkdir(copy, { mode: 0o700 });
});
afterEach(async () => {
  execFileSync('sh', ['-c', 'mountpoint -q "$1" && umount "$1" || true', 'sh', copy]);
  await rm(dir, { recursive: true, force: true });
});

async function files(folder: string): Promise<number> {
  return (await readdir(folder, { recursive: true })).length;
}

// Descriptors of this process open on anything under the test's folder (the worker threads' own event loops
// close theirs a moment after they end, so all descriptors are not counted).
function openDescriptors(): string[] {
  const fds = `/proc/${process.pid}/fd`;
  return readdirSync(fds).flatMap((fd) => {
    const target = (() => {
      try {
        return readlinkSync(join(fds, fd));
      } catch {
        return '';
      }
    })();
    return target.startsWith(`${dir}/`) ? [target] : [];
  });
}

it('stops within a batch when cancelled: nothing is written after it returns, and every folder it opened is closed', async () => {
  // 40 folders of 50 files of 256 KiB: far more than one batch per worker.
  for (let d = 0; d < 40; d++) {
    await mkdir(join(source, `module ${d}`), { recursive: true });
    for (let f = 0; f < 50; f++) await writeFile(join(source, `module ${d}`, `file ${f}.nix`), Buffer.alloc(256 * 1024, d + f));
  }
  const scan = await scanSource(source);
  const from = await Beneath.open(source, { rootOwned: false });
  const to = await Beneath.open(copy, { rootOwned: true });
  const cancel = new AbortController();
  const watching = (async () => {
    while ((await files(copy)) < 100) await new Promise((r) => setTimeout(r, 1));
    cancel.abort();
  })();
  const outcome = await copySnapshot(from, to, scan, undefined, undefined, cancel.signal).catch((error: unknown) => error);
  await watching;
  await Promise.all([from.close(), to.close()]);
  expect(outcome).toBeInstanceOf(InstallCancelled);
  const written = await files(copy);
  expect(written).toBeLessThan(scan.entries.length);
  await new Promise((r) => setTimeout(r, 300));
  expect(await files(copy)).toBe(written);
  expect(openDescriptors()).toEqual([]);
});

it('copies a tree of many folders whole, with every folder it opened closed after', async () => {
  for (let d = 0; d < 30; d++) {
    await mkdir(join(source, `a${d}`, `b${d}`), { recursive: true });
    for (let f = 0; f < 40; f++) await writeFile(join(source, `a${d}`, `b${d}`, `f${f}`), `${d}.${f}`);
    await writeFile(join(source, `a${d}`, 'top'), `${d}`);
  }
  const scan = await scanSource(source);
  const from = await Beneath.open(source, { rootOwned: false });
  const to = await Beneath.open(copy, { rootOwned: true });
  expect(await copySnapshot(from, to, scan)).toBe(30 * 41);
  await Promise.all([from.close(), to.close()]);
  expect(openDescriptors()).toEqual([]);
  expect(execFileSync('diff', ['-r', '--', source, copy], { encoding: 'utf8' })).toBe('');
});

it('keeps the code of a failed write: a full destination is ENOSPC', async () => {
  await mkdir(source);
  await writeFile(join(source, 'small.nix'), '{ }');
  await writeFile(join(source, 'large.bin'), Buffer.alloc(4 * 1024 * 1024, 1));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'noi-full', copy]);
  const from = await Beneath.open(source, { rootOwned: false });
  const to = await Beneath.open(copy, { rootOwned: true });
  const outcome = await copySnapshot(from, to, await scanSource(source)).catch((error: unknown) => error);
  await Promise.all([from.close(), to.close()]);
  expect(outcome).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
});
