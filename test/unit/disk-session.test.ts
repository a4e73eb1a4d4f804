// A disko install's mount point (disko.rootMountPoint): made when missing and
// removed at the end only then; refused, before any disk is written, when it is
// reached through a symbolic link, since the kernel lists the mounts at the
// folder the link leads to and the install would look for them elsewhere.
import { mkdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DiskSession } from '../../src/disk/disk-session.js';
import { scratch } from '../helpers/env.js';

let dir: string;

beforeEach(async () => {
  dir = await scratch('disk-session');
});

const diskName = 'loop9';

describe('DiskSession.forDisko', () => {
  it('makes a missing rootMountPoint (0755) and keeps one that was there', async () => {
    const missing = join(dir, 'mnt', 'target');
    const made = await DiskSession.forDisko({ rootMountPoint: missing, diskName });
    expect(made).toMatchObject({ mountPoint: missing, madeMountPoint: true, disko: { rootMountPoint: missing, diskName } });
    expect((await stat(missing)).mode & 0o7777).toBe(0o755);
    const kept = await DiskSession.forDisko({ rootMountPoint: missing, diskName });
    expect(kept.madeMountPoint).toBe(false);
  });

  it('refuses a rootMountPoint that is a symbolic link, or lies beyond one, and removes the folder it made', async () => {
    const real = join(dir, 'real');
    await mkdir(real);
    await symlink(real, join(dir, 'link'));
    for (const rootMountPoint of [join(dir, 'link'), join(dir, 'link', 'target')]) {
      await expect(DiskSession.forDisko({ rootMountPoint, diskName })).rejects.toMatchObject({
        code: 'target-unsafe',
        title: `disko's rootMountPoint ${rootMountPoint} is reached through a symbolic link`,
        description: 'Set disko.rootMountPoint to a real folder such as /mnt. Nothing was written to any disk.',
      });
    }
    await expect(stat(join(real, 'target'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(real)).resolves.toBeTruthy();
  });
});
