// GRUB's boot code goes onto the disks the configuration names
// (boot.loader.grub.device, devices, mirroredBoots). The answer file's layout
// sets the device as a default (installer-choices.nix); a configuration that
// names another disk wins, and nixos-install would then write boot code onto
// a disk the answer file never named. Refused before any disk is touched.
import { stat } from 'node:fs/promises';
import type { DiskInfo } from './block-device.js';
import { majorMinor } from './block-device.js';
import { AnswerError, type Answers } from '../common/answers.js';

async function deviceNumbers(path: string): Promise<string | null> {
  const info = await stat(path).catch(() => null);
  return info?.isBlockDevice() ? majorMinor(info.rdev) : null;
}

// Every GRUB device but "nodev" (EFI only) must be the answer file's disk itself (links such as /dev/disk/by-id/... resolved).
export async function checkGrubDisks(grubDevices: readonly string[], disk: DiskInfo, answers: Answers, source: string): Promise<void> {
  const wanted = await deviceNumbers(disk.device);
  const devices = [...new Set(grubDevices.filter((d) => d !== 'nodev'))];
  const others: string[] = [];
  for (const device of devices) {
    if (wanted === null || (await deviceNumbers(device)) !== wanted) others.push(device);
  }
  if (others.length === 0) return;
  const named = others.join(', ');
  throw new AnswerError(
    'disk',
    `GRUB would be installed on ${named}, not on ${answers.disk}`,
    `The answer file ${answers.file} names the disk ${answers.disk} (${disk.device}), but the configuration in ${source} sets GRUB's disk to ${named} (boot.loader.grub.device, devices or mirroredBoots), ` +
      `which wins over the layout's choice: nixos-install would write boot code onto ${others.length === 1 ? 'a disk' : 'disks'} the answer file does not name.\n` +
      `Either leave the option to the layout (remove it from the configuration: bios-ext4 sets GRUB's disk to the answer file's, efi-ext4 needs none), ` +
      `or name that disk in both: boot.loader.grub.device = "${disk.stablePath}"; and "disk": "${disk.stablePath}" in ${answers.file}. Nothing was written to any disk.`,
  );
}
