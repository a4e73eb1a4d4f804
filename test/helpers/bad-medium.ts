// A medium that reads back wrong or not at all, for the damaged-medium tests:
// bytes of an image overwritten in place (what a failing stick returns
// silently), or the image served through a FUSE file system that fails reads
// of a byte range with EIO (test/helpers/bad-region.py).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from './env.js';

export async function overwrite(image: string, offset: number, length: number): Promise<void> {
  const file = await open(image, 'r+');
  try {
    await file.write(randomBytes(length), 0, length, offset);
  } finally {
    await file.close();
  }
}

export interface FailingMedium {
  // The image as the failing medium serves it.
  image: string;
  stop(): Promise<void>;
}

// IMAGE served at DIR/<name>/image, every read touching [start, end) failing with EIO.
export function failingReads(image: string, dir: string, start: number, end: number): Promise<FailingMedium> {
  return servedImage(image, join(dir, 'failing-medium'), [String(start), String(end)]);
}

// IMAGE served at DIR/<name>/image no faster than BYTES_PER_SECOND, as a slow stick: a copy's pace is the medium's.
export function slowReads(image: string, dir: string, bytesPerSecond: number): Promise<FailingMedium> {
  return servedImage(image, join(dir, 'slow-medium'), ['0', '0', String(bytesPerSecond)]);
}

async function servedImage(image: string, mountpoint: string, args: string[]): Promise<FailingMedium> {
  await mkdir(mountpoint);
  const child: ChildProcess = spawn('/usr/bin/python3', [join(REPO, 'test/helpers/bad-region.py'), image, mountpoint, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      output += d;
      if (output.includes('ready')) resolve();
    });
    child.stderr!.on('data', (d) => (output += d));
    child.once('exit', (code) => reject(new Error(`bad-region.py exited with ${code}:\n${output}`)));
  });
  return {
    image: join(mountpoint, 'image'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
