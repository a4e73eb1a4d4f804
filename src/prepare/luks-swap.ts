// Encrypted swap chosen in Calamares: nixos-generate-config does not see a LUKS
// swap partition that is not active, so the stock NixOS module declared it in
// the configuration it generated. This installer never writes the user's
// configuration; it adds the declaration to the generated
// hardware-configuration.nix, which belongs to the target, not the user.
import type { PartitionInfo } from '../protocol/messages.js';

export interface LuksSwap {
  mapperName: string;
  uuid: string;
}

// Only values that cannot break out of a Nix string: nothing from the socket is ever evaluated.
const MAPPER_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const UUID = /^[0-9A-Fa-f-]{8,64}$/;

export function luksSwapDevices(partitions: readonly PartitionInfo[]): { devices: LuksSwap[]; skipped: PartitionInfo[] } {
  const devices: LuksSwap[] = [];
  const skipped: PartitionInfo[] = [];
  for (const p of partitions) {
    if (!p.claimed || p.fs !== 'linuxswap' || !p.fsName?.startsWith('luks')) continue;
    if (p.luksMapperName && p.uuid && MAPPER_NAME.test(p.luksMapperName) && UUID.test(p.uuid)) devices.push({ mapperName: p.luksMapperName, uuid: p.uuid });
    else skipped.push(p);
  }
  return { devices, skipped };
}

export function luksSwapNix(devices: readonly LuksSwap[]): string {
  return [
    '  # Encrypted swap chosen in the installer (added by nixos-offline-installer).',
    ...devices.map((d) => `  boot.initrd.luks.devices."${d.mapperName}".device = "/dev/disk/by-uuid/${d.uuid}";`),
    '',
  ].join('\n');
}
