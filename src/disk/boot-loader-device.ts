// bios-ext4: GRUB must be told which disk to install to, which
// nixos-generate-config does not write. The disk is added to the generated
// hardware-configuration.nix (the target's, not the user's configuration) as a
// default, so a configuration that sets its own keeps it.
import { readFile, writeFile } from 'node:fs/promises';

// Only paths that cannot break out of a Nix string.
const SAFE_PATH = /^\/dev\/[A-Za-z0-9._:+\/-]+$/;

export function grubDeviceNix(diskPath: string): string {
  if (!SAFE_PATH.test(diskPath)) throw new Error(`refusing to write the disk path ${JSON.stringify(diskPath)} into a Nix file`);
  return ['  # The disk this system was installed on (added by nixos-offline-installer, layout bios-ext4).', `  boot.loader.grub.device = lib.mkDefault "${diskPath}";`, ''].join('\n');
}

export async function addGrubDevice(hardwareConfig: string, diskPath: string): Promise<void> {
  const text = await readFile(hardwareConfig, 'utf8');
  const end = text.lastIndexOf('}');
  if (end === -1) throw new Error(`${hardwareConfig} does not end with "}"; it is not what nixos-generate-config writes`);
  await writeFile(hardwareConfig, `${text.slice(0, end)}${grubDeviceNix(diskPath)}${text.slice(end)}`);
}
