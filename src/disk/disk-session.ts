// What an unattended install has done to the live system so far (the mount
// point it made, what it mounted, swap it turned on, LUKS devices it opened), so
// that exactly that is undone at the end, however the install ends.
import { chmod, mkdir, mkdtemp, realpath, rmdir } from 'node:fs/promises';
import { InstallError } from '../common/install-error.js';

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

  // disko's scripts mount at ROOT itself; it is made if missing (0755, as nixos-install needs). The folder
  // must be where the kernel will list the mounts, so one reached through a symbolic link is refused.
  static async forDisko(disko: DiskoMounts): Promise<DiskSession> {
    const { rootMountPoint } = disko;
    const made = await mkdir(rootMountPoint, { recursive: true, mode: 0o755 });
    if ((await realpath(rootMountPoint)) !== rootMountPoint) {
      if (made !== undefined) await rmdir(rootMountPoint);
      throw new InstallError('target-unsafe', `disko's rootMountPoint ${rootMountPoint} is reached through a symbolic link`, 'Set disko.rootMountPoint to a real folder such as /mnt. Nothing was written to any disk.');
    }
    return new DiskSession(rootMountPoint, made !== undefined, disko);
  }
}
