// What the medium under a loop device has served: the ISO's squashfs is a file
// on /iso (nixpkgs' iso-image.nix), so the stick or CD /iso is on counts, in
// its /sys stat, the reads that missed every cache above it.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';

// Bytes read from the device, since it appeared.
export type DeviceReads = () => Promise<number>;

// The reads of the block device holding LOOP_DEVICE's backing file, or null where there is none to count: a
// backing file in RAM (tmpfs, as after copytoram; a netbooted initrd), over FUSE, or gone.
export async function backingDeviceReads(loopDevice: string): Promise<DeviceReads | null> {
  const name = basename(loopDevice);
  if (!/^loop[0-9]+$/.test(name)) return null;
  const backing = (await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8').catch(() => '')).replace(/\n$/, '');
  if (!backing.startsWith('/') || backing.endsWith(' (deleted)')) return null;
  const dev = (await stat(backing, { bigint: true }).catch(() => null))?.dev;
  if (dev === undefined) return null;
  // glibc's dev_t layout (gnu_dev_major/minor); major 0 is an anonymous device (tmpfs, overlay, FUSE).
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  if (major === 0n) return null;
  const statFile = `/sys/dev/block/${major}:${minor}/stat`;
  const sectorsRead = async () => {
    // Documentation/block/stat.rst: the third field is the 512-byte sectors read.
    const sectors = Number((await readFile(statFile, 'utf8')).trim().split(/\s+/)[2]);
    if (!Number.isSafeInteger(sectors)) throw new Error(`${statFile}: no count of sectors read`);
    return sectors * 512;
  };
  return (await sectorsRead().catch(() => null)) === null ? null : sectorsRead;
}
