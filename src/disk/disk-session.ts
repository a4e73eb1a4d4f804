// What an unattended install has done to the live system so far (the mount
// point it made, what it mounted, swap it turned on, LUKS devices it opened), so
// that exactly that is undone at the end, however the install ends.
import { chmod, mkdtemp } from 'node:fs/promises';

// A fresh folder of root's under /run: nothing else mounts there, and every
// folder up to / lets others enter it, as nixos-install requires.
export const MOUNT_BASE = '/run/nixos-offline-installer-target-';

export class DiskSession {
  readonly mounts: string[] = [];
  readonly swaps: string[] = [];
  readonly mappers: string[] = [];

  private constructor(readonly mountPoint: string) {}

  static async create(base = MOUNT_BASE): Promise<DiskSession> {
    const dir = await mkdtemp(base);
    await chmod(dir, 0o755);
    return new DiskSession(dir);
  }
}
