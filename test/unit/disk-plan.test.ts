import { describe, expect, it } from 'vitest';
import { plannedFileSystemsNix } from '../../src/disk/planned-file-systems.js';
import { unattendedChoices } from '../../src/job/unattended.js';
import { installerChoicesModule } from '../../src/prepare/installer-choices.js';
import { majorMinor } from '../../src/disk/block-device.js';
import { parseWipefsJson } from '../../src/disk/existing-data.js';
import { GPT_TYPES, diskNeed, planPartitions, sfdiskScript } from '../../src/disk/layout.js';
import { luksCloseArgs, luksFormatArgs, luksOpenArgs } from '../../src/disk/luks.js';
import { parseSfdiskJson } from '../../src/disk/partition.js';
import { powerCommand } from '../../src/install/power-action.js';
import { withPassword } from '../../src/install/set-password.js';
import { ATTENDED } from '../../src/job/attended-stages.js';
import { overallFraction } from '../../src/job/stage.js';
import { UNATTENDED } from '../../src/job/unattended-stages.js';
import { thenText } from '../../src/cli/render.js';
import { PHASES, phaseRow } from '../../src/protocol/install-phases.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('layouts', () => {
  it('efi-ext4 with swap: ESP, swap, root taking the rest', () => {
    const plan = planPartitions({ type: 'efi-ext4', swapBytes: 8 * GiB, encrypt: null });
    expect(plan.map((p) => [p.role, p.sizeBytes])).toEqual([['esp', GiB], ['swap', 8 * GiB], ['root', null]]);
    expect(sfdiskScript(plan)).toBe(
      ['label: gpt', `size=1024MiB, type=${GPT_TYPES.esp}, name="ESP"`, `size=8192MiB, type=${GPT_TYPES.swap}, name="swap"`, `type=${GPT_TYPES.root}, name="nixos"`, ''].join('\n'),
    );
  });

  it('bios-ext4: a BIOS boot partition for GRUB, then root', () => {
    const plan = planPartitions({ type: 'bios-ext4', swapBytes: 0, encrypt: null });
    expect(plan.map((p) => [p.role, p.sizeBytes, p.typeGuid])).toEqual([['bios-boot', MiB, GPT_TYPES['bios-boot']], ['root', null, GPT_TYPES.root]]);
  });

  it('needs the closure, as much again (at least 1 GiB), the boot partition, swap and the table', () => {
    const big = diskNeed({ type: 'efi-ext4', swapBytes: 4 * GiB, encrypt: null }, 8 * GiB);
    expect(big.totalBytes).toBe(8 * GiB + 8 * GiB + GiB + 4 * GiB + 2 * MiB);
    expect(big.explanation).toBe("the system's closure 8.0 GiB + build headroom 8.0 GiB + the EFI system partition 1.0 GiB + swap 4.0 GiB + the partition table 2 MiB");
    expect(diskNeed({ type: 'bios-ext4', swapBytes: 0, encrypt: null }, 10 * MiB).totalBytes).toBe(10 * MiB + GiB + MiB + 2 * MiB);
  });
});

describe('reading the tools', () => {
  it('wipefs --json, also when it prints nothing', () => {
    expect(parseWipefsJson('')).toEqual([]);
    expect(parseWipefsJson('{"signatures": [{"device":"loop0","offset":"0x200","type":"gpt","uuid":null,"label":null}]}')).toEqual([{ type: 'gpt', offset: '0x200' }]);
  });

  it('sfdisk --json', () => {
    const text = JSON.stringify({ partitiontable: { label: 'gpt', partitions: [{ node: '/dev/loop0p1', start: 2048, size: 2048, type: '21686148-6449-6e6f-744e-656564454649' }] } });
    expect(parseSfdiskJson(text)).toEqual({ label: 'gpt', partitions: [{ node: '/dev/loop0p1', start: 2048, size: 2048, type: GPT_TYPES['bios-boot'] }] });
  });

  it('device numbers as the kernel encodes them', () => {
    expect(majorMinor(0x0700)).toBe('7:0');
    expect(majorMinor(0x10300)).toBe('259:0');
    expect(majorMinor(0x811)).toBe('8:17');
    // A minor above 255 is split around the major (glibc's makedev).
    expect(majorMinor(0x11032c)).toBe('259:300');
  });
});

describe('commands', () => {
  it('cryptsetup gets the key by file and length, never the passphrase', () => {
    const enc = { passphraseFile: '/iso/nix-cfg/luks.txt', passphraseBytes: 20 };
    expect(luksFormatArgs('/dev/sda3', enc)).toEqual(['luksFormat', '--type', 'luks2', '--batch-mode', '--key-file', '/iso/nix-cfg/luks.txt', '--keyfile-size', '20', '/dev/sda3']);
    expect(luksOpenArgs('/dev/sda3', enc, 'cryptroot')).toEqual(['open', '--type', 'luks2', '--key-file', '/iso/nix-cfg/luks.txt', '--keyfile-size', '20', '/dev/sda3', 'cryptroot']);
    expect(luksCloseArgs('cryptroot')).toEqual(['close', 'cryptroot']);
  });

  it('reboot and power-off through systemd', () => {
    expect(powerCommand('reboot')).toEqual({ file: 'systemctl', args: ['reboot'] });
    expect(powerCommand('poweroff')).toEqual({ file: 'systemctl', args: ['poweroff'] });
    expect(thenText({ action: 'poweroff', delaySeconds: 10 })).toBe('Powering off in 10 seconds (nixos-offline-installer cancel to stay).');
    expect(thenText({ action: 'stay', delaySeconds: 0 })).toMatch(/stays on/);
  });

});

describe('what the checks see before the disk is partitioned', () => {
  it('the file systems the layout will make, by label', () => {
    expect(plannedFileSystemsNix({ type: 'bios-ext4', swapBytes: 0, encrypt: null })).toBe(
      '  # The file systems the unattended install will make (nixos-offline-installer); replaced by the probe once they exist.\n  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };\n',
    );
    const full = plannedFileSystemsNix({ type: 'efi-ext4', swapBytes: GiB, encrypt: { passphraseFile: '/k', passphraseBytes: 3 } });
    expect(full).toContain('fileSystems."/boot" = { device = "/dev/disk/by-label/BOOT"; fsType = "vfat";');
    expect(full).toContain('swapDevices = [ { device = "/dev/disk/by-label/swap"; } ];');
    expect(full).toContain('boot.initrd.luks.devices."cryptroot".device = "/dev/disk/by-partlabel/nixos";');
    expect(full).toContain('boot.initrd.luks.devices."cryptswap".device = "/dev/disk/by-partlabel/swap";');
  });

  it('the layout as Calamares would pass it: the firmware, and GRUB on the disk for bios-ext4', () => {
    const disk = { path: '/dev/sda', name: 'sda', device: '/dev/sda', sizeBytes: 8 * GiB, stablePath: '/dev/disk/by-id/ata-DISK_123' };
    const answers = { file: '/i.json', disk: '/dev/sda', wipe: true, then: 'stay' as const, choices: {} };
    const bios = unattendedChoices({ answers: { ...answers, layout: { type: 'bios-ext4', swapBytes: 0, encrypt: null } }, disk, disko: null });
    expect(bios).toEqual({ firmwareType: 'bios', bootLoaderPath: '/dev/disk/by-id/ata-DISK_123' });
    expect(installerChoicesModule(bios).text).toContain('boot.loader.grub.device = lib.mkOverride 999 "/dev/disk/by-id/ata-DISK_123";');
    expect(unattendedChoices({ answers: { ...answers, layout: { type: 'efi-ext4', swapBytes: 0, encrypt: null } }, disk, disko: null })).toEqual({ firmwareType: 'efi' });
    // A by-id name the choices module would refuse: the kernel name instead.
    expect(unattendedChoices({ answers: { ...answers, layout: { type: 'bios-ext4', swapBytes: 0, encrypt: null } }, disk: { ...disk, stablePath: '/dev/disk/by-id/usb-A+B' }, disko: null })).toMatchObject({ bootLoaderPath: '/dev/sda' });
  });
});

describe('password in /etc/shadow', () => {
  it('replaces the hash of that user only, and says when the user is missing', () => {
    const shadow = 'root:!:1::::::\nalice:!:1::::::\nbob:$6$x$y:1::::::\n';
    const updated = withPassword(shadow, 'alice', '$6$new$hash')!;
    expect(updated.split('\n')[0]).toBe('root:!:1::::::');
    expect(updated.split('\n')[1]).toMatch(/^alice:\$6\$new\$hash:\d+::::::$/);
    expect(updated.split('\n')[2]).toBe('bob:$6$x$y:1::::::');
    expect(withPassword(shadow, 'carol', '$6$new$hash')).toBeNull();
    expect(withPassword(shadow, 'ali', '$6$new$hash')).toBeNull();
  });
});

describe('the progress bar', () => {
  it('an install with a mounted target fills it without the disk phases; an unattended one with them', () => {
    expect(overallFraction('report', 1, ATTENDED.stages)).toBeCloseTo(1);
    expect(overallFraction('hardware', 0, ATTENDED.stages)).toBe(0);
    // Exactly the bar Calamares' module maps (its shares are these weights).
    expect(overallFraction('stage', 0, ATTENDED.stages)).toBeCloseTo(0.05);
    expect(overallFraction('copy', 0.5, ATTENDED.stages)).toBeCloseTo(0.17 + 0.39);
    expect(overallFraction('report', 1, UNATTENDED.stages)).toBe(1);
    expect(overallFraction('partition', 0, UNATTENDED.stages)).toBeCloseTo(0.05 / 1.04);
    expect(overallFraction('stage', 0, UNATTENDED.stages)).toBeCloseTo(0.09 / 1.04);
  });

  it('has an unattended install go through every phase, an attended one through all but the disk phases, each once', () => {
    expect(UNATTENDED.stages.map((s) => s.phase)).toEqual([...PHASES]);
    expect(ATTENDED.stages.map((s) => s.phase)).toEqual(PHASES.filter((p) => !phaseRow(p).unattendedOnly));
    // The same stages where the two kinds do the same.
    for (const phase of ['build', 'copy', 'report'] as const) expect(ATTENDED.stages.find((s) => s.phase === phase)).toBe(UNATTENDED.stages.find((s) => s.phase === phase));
  });
});
