import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Beneath, withDir } from '../../src/fs/beneath.js';
import { addLuksSwap, luksSwapDevices } from '../../src/stage/luks-swap.js';
import { scratch } from '../helpers/env.js';

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

  it('adds the declaration inside the generated file', async () => {
    const dir = await scratch('luks');
    const file = join(dir, 'hardware-configuration.nix');
    await writeFile(file, '{ config, lib, ... }:\n\n{\n  swapDevices = [ ];\n}\n');
    await withDir(Beneath.open(dir, { rootOwned: true }), (opened) => addLuksSwap(opened, 'hardware-configuration.nix', [{ mapperName: 'luks-swap', uuid: 'abcd-1234-ef' }]));
    expect(await readFile(file, 'utf8')).toBe(
      '{ config, lib, ... }:\n\n{\n  swapDevices = [ ];\n  # Encrypted swap chosen in the installer (added by nixos-offline-installer).\n  boot.initrd.luks.devices."luks-swap".device = "/dev/disk/by-uuid/abcd-1234-ef";\n}\n',
    );
    await rm(dir, { recursive: true });
  });
});
