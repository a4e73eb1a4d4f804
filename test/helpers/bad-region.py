#!/usr/bin/python3
"""A medium that fails to read part of itself: a FUSE file system with one
file, `image`, whose bytes are SOURCE's, except that any read touching
[START, END) fails with EIO, as a failing USB stick's sectors do. The tests
loop-mount MOUNTPOINT/image as the ISO's squashfs. With RATE (bytes per
second), reads are served no faster than that, as a slow stick's are.

    bad-region.py SOURCE MOUNTPOINT START END [RATE]

Runs in the foreground until unmounted (fusermount3 -u / umount) or ended
with SIGTERM; prints "ready" once mounted."""
import errno
import os
import stat
import sys

import pyfuse3
import trio

FILE_INODE = pyfuse3.ROOT_INODE + 1
NAME = b'image'
CREDIT = 1.0


class BadRegion(pyfuse3.Operations):
    def __init__(self, source, start, end, rate):
        super().__init__()
        self.fd = os.open(source, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size
        self.start, self.end = start, end
        self.rate = rate
        # When the throttled medium is next free: reads in flight at once queue behind each other,
        # and a reader's own pauses of up to CREDIT seconds are made up for, so the pace is RATE's.
        self.free_at = 0.0

    def _attr(self, inode):
        entry = pyfuse3.EntryAttributes()
        entry.st_ino = inode
        if inode == pyfuse3.ROOT_INODE:
            entry.st_mode = stat.S_IFDIR | 0o755
            entry.st_nlink = 2
        else:
            entry.st_mode = stat.S_IFREG | 0o444
            entry.st_nlink = 1
            entry.st_size = self.size
        entry.st_uid = entry.st_gid = 0
        return entry

    async def getattr(self, inode, ctx=None):
        if inode not in (pyfuse3.ROOT_INODE, FILE_INODE):
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self._attr(inode)

    async def lookup(self, parent_inode, name, ctx=None):
        if parent_inode != pyfuse3.ROOT_INODE or name != NAME:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self._attr(FILE_INODE)

    async def opendir(self, inode, ctx):
        if inode != pyfuse3.ROOT_INODE:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        return inode

    async def readdir(self, fh, start_id, token):
        if start_id == 0:
            pyfuse3.readdir_reply(token, NAME, self._attr(FILE_INODE), 1)

    async def open(self, inode, flags, ctx):
        if inode != FILE_INODE:
            raise pyfuse3.FUSEError(errno.ENOENT)
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise pyfuse3.FUSEError(errno.EROFS)
        # A failing medium: every read reaches us (direct_io), none is served from the page cache. A slow one
        # is read through the page cache, as the ISO's squashfs file on /iso is (the loop device reads it
        # buffered): a block read twice is read from the medium once. Each open (a new loop device) starts cold.
        return pyfuse3.FileInfo(fh=inode, direct_io=not self.rate, keep_cache=False)

    async def read(self, fh, off, size):
        if off < self.end and off + size > self.start:
            raise pyfuse3.FUSEError(errno.EIO)
        if self.rate:
            self.free_at = max(trio.current_time() - CREDIT, self.free_at) + size / self.rate
            await trio.sleep_until(self.free_at)
        return os.pread(self.fd, size, off)


def main():
    source, mountpoint, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rate = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    pyfuse3.init(BadRegion(source, start, end, rate), mountpoint, {'fsname=bad-region', 'ro'})
    print('ready', flush=True)
    try:
        trio.run(pyfuse3.main)
    finally:
        pyfuse3.close(unmount=True)


if __name__ == '__main__':
    main()
