// The file systems an unattended layout will make, as NixOS declarations by
// label: what the configuration is checked with before the disk is
// partitioned (a NixOS system must have a root file system). Once they exist,
// nixos-generate-config's own declarations replace these.
import type { Layout } from '../common/answers.js';
import { ROOT_MAPPER, SWAP_MAPPER } from './luks.js';

// The labels format.ts gives them (the NixOS manual's), and sfdisk's partition names.
export const LABELS = { root: 'nixos', esp: 'BOOT', swap: 'swap' } as const;
export const PARTITION_NAMES = { esp: 'ESP', biosBoot: 'BIOS boot', swap: 'swap', root: 'nixos' } as const;

// The hardware configuration's note where a layout's planned file systems would go.
export const DISKO_FILE_SYSTEMS = "  # File systems: the configuration's disko layout declares them (disko.devices).\n";

export function plannedFileSystemsNix(layout: Layout): string {
  const lines = ['  # The file systems the unattended install will make (nixos-offline-installer); replaced by the probe once they exist.'];
  lines.push(`  fileSystems."/" = { device = "/dev/disk/by-label/${LABELS.root}"; fsType = "ext4"; };`);
  if (layout.type === 'efi-ext4') lines.push(`  fileSystems."/boot" = { device = "/dev/disk/by-label/${LABELS.esp}"; fsType = "vfat"; options = [ "fmask=0077" "dmask=0077" ]; };`);
  if (layout.swapBytes > 0) lines.push(`  swapDevices = [ { device = "/dev/disk/by-label/${LABELS.swap}"; } ];`);
  if (layout.encrypt) {
    lines.push(`  boot.initrd.luks.devices."${ROOT_MAPPER}".device = "/dev/disk/by-partlabel/${PARTITION_NAMES.root}";`);
    if (layout.swapBytes > 0) lines.push(`  boot.initrd.luks.devices."${SWAP_MAPPER}".device = "/dev/disk/by-partlabel/${PARTITION_NAMES.swap}";`);
  }
  return `${lines.join('\n')}\n`;
}
