import { describe, expect, it } from 'vitest';
import { luksSwapDevices } from '../../src/prepare/luks-swap.js';
import { completeHardwareConfig } from '../../src/prepare/hardware-config.js';
import type { JobContext } from '../../src/common/context.js';

describe('encrypted swap from Calamares partitions', () => {
  it('picks claimed LUKS swap partitions and skips values that could break out of a Nix string', () => {
    const { devices, skipped } = luksSwapDevices([
      { claimed: true, fs: 'linuxswap', fsName: 'luks2', luksMapperName: 'luks-swap', uuid: 'abcd-1234-ef' },
      { claimed: false, fs: 'linuxswap', fsName: 'luks', luksMapperName: 'other', uuid: 'abcd-1234-ef' },
      { claimed: true, fs: 'linuxswap', fsName: 'linuxswap', uuid: 'abcd-1234-ef' },
      { claimed: true, fs: 'ext4', fsName: 'luks', luksMapperName: 'root', uuid: 'abcd-1234-ef' },
      { claimed: true, fs: 'linuxswap', fsName: 'luks', luksMapperName: 'x"; system.foo = "', uuid: 'abcd-1234-ef', device: '/dev/evil' },
    ]);
    expect(devices).toEqual([{ mapperName: 'luks-swap', uuid: 'abcd-1234-ef' }]);
    expect(skipped.map((p) => p.device)).toEqual(['/dev/evil']);
  });

  it('adds the declaration inside the generated file, and the import of the choices module', () => {
    const ctx = { log: () => {} } as unknown as JobContext;
    const generated = '{ config, lib, ... }:\n\n{\n  imports = [ ];\n  swapDevices = [ ];\n}\n';
    expect(completeHardwareConfig(ctx, generated, [{ claimed: true, fs: 'linuxswap', fsName: 'luks2', luksMapperName: 'luks-swap', uuid: 'abcd-1234-ef' }], 'installer-choices.nix')).toBe(
      '{ config, lib, ... }:\n\n{\n  imports = [ ./installer-choices.nix ];\n  swapDevices = [ ];\n  # Encrypted swap chosen in the installer (added by nixos-offline-installer).\n  boot.initrd.luks.devices."luks-swap".device = "/dev/disk/by-uuid/abcd-1234-ef";\n}\n',
    );
    expect(completeHardwareConfig(ctx, '{ ... }:\n{\n}\n', [], 'installer-choices.nix')).toBe('{ ... }:\n{\n  imports = [ ./installer-choices.nix ];\n}\n');
  });
});
