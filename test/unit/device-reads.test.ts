// What the medium under a loop device served (src/fs/device-reads.ts), laid
// out as the ISO's: a file system on a stick (a loop disk, ext4 here, iso9660
// on the ISO) holding the squashfs file a second loop device reads. The
// stick's count grows by what was read from it, and not for a read the page
// cache above it serves.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backingDeviceReads } from '../../src/fs/device-reads.js';
import { scratch } from '../helpers/env.js';
import { attachDisk, endDiskTest, run } from '../helpers/loop-disk.js';

const MB = 1 << 20;
let dir: string;
const loops: string[] = [];

// FILE attached read-only as a loop device, as the ISO's stage 1 attaches /iso/nix-store.squashfs.
function attachFile(file: string): string {
  const device = run('losetup', ['--find', '--show', '--read-only', '--', file]).trim();
  loops.push(device);
  return device;
}

// All of DEVICE read past its own cache, as squashfs reads the loop device.
const readDirect = (device: string) => run('dd', [`if=${device}`, 'of=/dev/null', 'bs=1M', 'iflag=direct', 'status=none']);

beforeAll(async () => {
  dir = await scratch('device-reads');
});

afterAll(async () => {
  // The loop devices first: they hold their files open, on the stick (which endDiskTest unmounts) and in RAM.
  for (const device of loops.reverse()) run('losetup', ['--detach', device]);
  if (existsSync(join(dir, 'ram'))) run('umount', ['--', join(dir, 'ram')]);
  await endDiskTest(dir, null);
}, 60_000);

describe('backingDeviceReads', () => {
  it("counts what the stick under a loop device's file served, once, past the caches above it", async () => {
    const stick = await attachDisk(dir, 'stick', 64 * MB);
    run('mkfs.ext4', ['-q', '--', stick.device]);
    await mkdir(join(dir, 'stick'));
    await writeFile(join(dir, 'image'), randomBytes(8 * MB));
    run('mount', ['--', stick.device, join(dir, 'stick')]);
    run('cp', ['--', join(dir, 'image'), join(dir, 'stick/nix-store.squashfs')]);
    // Mounted afresh, so none of the file's pages are in the cache.
    run('umount', ['--', join(dir, 'stick')]);
    run('mount', ['-o', 'ro', '--', stick.device, join(dir, 'stick')]);
    const medium = attachFile(join(dir, 'stick/nix-store.squashfs'));

    const reads = await backingDeviceReads(medium);
    expect(reads).not.toBeNull();
    const before = await reads!();
    readDirect(medium);
    const once = (await reads!()) - before;
    expect(once).toBeGreaterThanOrEqual(8 * MB);
    expect(once).toBeLessThan(9 * MB);
    // Read again: the file's pages are cached above the stick, which serves nothing more.
    readDirect(medium);
    expect((await reads!()) - before - once).toBeLessThan(MB / 4);
  });

  it('counts nothing for a file in RAM (copytoram, a netbooted store) or a device that is no loop device', async () => {
    await mkdir(join(dir, 'ram'));
    run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'ram', join(dir, 'ram')]);
    await writeFile(join(dir, 'ram/nix-store.squashfs'), randomBytes(MB));
    expect(await backingDeviceReads(attachFile(join(dir, 'ram/nix-store.squashfs')))).toBeNull();
    expect(await backingDeviceReads('/dev/sda')).toBeNull();
    expect(await backingDeviceReads('/dev/loop999999')).toBeNull();
  });
});
