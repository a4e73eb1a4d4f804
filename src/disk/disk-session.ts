// What an unattended install has done to the live system so far (the mount
// point it made, what it mounted, swap it turned on, LUKS devices it opened), so
// that exactly that is undone at the end, however the install ends.
import { chmod, mkdir, mkdtemp } from 'node:fs/promises';

// A fresh folder of root's under /run: nothing else mounts there, and every
// folder up to / lets others enter it, as nixos-install requires.
export const MOUNT_BASE = '/run/nixos-offline-installer-target-';

// A disko layout mounts itself, at the configuration's disko.rootMountPoint, on the disk named.
export interface DiskoMounts {
  rootMountPoint: string;
  // The kernel name of the disk (sda, loop3): swap and device-mapper devices on it are the layout's.
  diskName: string;
}

export class DiskSession {
  readonly mounts: string[] = [];
  readonly swaps: string[] = [];
  readonly mappers: string[] = [];

  private constructor(
    readonly mountPoint: string,
    // Removed at the end only when the installer made it (disko's /mnt is the live system's).
    readonly madeMountPoint: boolean,
    readonly disko: DiskoMounts | null,
  ) {}

  static async create(base = MOUNT_BASE): Promise<DiskSession> {
    const dir = await mkdtemp(base);
    await chmod(dir, 0o755);
    return new DiskSession(dir, true, null);
  }

  // disko's scripts mount at ROOT itself; it is made if missing (0755, as nixos-install needs).
  static async forDisko(disko: DiskoMounts): Promise<DiskSession> {
    const made = await mkdir(disko.rootMountPoint, { recursive: true, mode: 0o755 });
    return new DiskSession(disko.rootMountPoint, made !== undefined, disko);
  }
}
