// Does the configuration's boot loader fit the machine's firmware? Found out
// here, before the target is touched, instead of in nixos-install's boot
// loader stage at the very end. The facts come from the system with the
// installer's choices applied (a BIOS install gets GRUB's device from them).
import type { Firmware } from '../prepare/firmware.js';
import type { ConfigFacts } from '../protocol/config-facts.js';
import type { ErrorInfo } from '../protocol/messages.js';

export function checkBootLoader(firmware: Firmware, facts: ConfigFacts, source: string): ErrorInfo | null {
  const loader = facts.bootLoader;
  if (!loader) return null;
  const devices = loader.grubDevices.filter((d) => d !== 'nodev');
  const refuse = (title: string, what: string): ErrorInfo => ({
    code: 'bootloader-mismatch',
    title,
    description: `This machine starts with ${firmware === 'efi' ? 'UEFI' : 'a BIOS (legacy boot)'}, but the configuration in ${source} ${what}\nThe install would fail at its very end, when the boot loader is installed.`,
  });
  if (firmware === 'bios') {
    if (loader.systemdBoot) {
      return refuse(
        'systemd-boot cannot start this machine',
        'enables systemd-boot, which needs UEFI.\nUse GRUB instead:\n  boot.loader.systemd-boot.enable = false;\n  boot.loader.grub.enable = true;\n  boot.loader.grub.device = "/dev/disk/by-id/…";   # the disk to boot from (Calamares fills it in when left unset)\nor start this machine in UEFI mode.',
      );
    }
    if (loader.grub && devices.length === 0) {
      return refuse(
        'GRUB has no disk to install to',
        `enables GRUB${loader.grubEfi ? ' with efiSupport' : ''} but names no disk for it (boot.loader.grub.device${loader.grubEfi ? '; efiSupport alone needs UEFI' : ''}).\nSet boot.loader.grub.device = "/dev/disk/by-id/…"; to the disk this machine boots from, or choose where the boot loader goes on the installer's partition page.`,
      );
    }
  } else if (loader.grub && !loader.systemdBoot && !loader.grubEfi) {
    return refuse(
      'GRUB is set up for BIOS only',
      'enables GRUB without efiSupport, which installs a BIOS boot loader this machine will not start.\nSet:\n  boot.loader.grub.efiSupport = true;\n  boot.loader.grub.device = "nodev";\nor use systemd-boot (boot.loader.systemd-boot.enable = true;).',
    );
  }
  return null;
}

// users.mutableUsers = false: the password the installer sets is gone at the first boot unless the configuration declares one.
export function checkPassword(user: string, facts: ConfigFacts, source: string): ErrorInfo | null {
  if (facts.mutableUsers !== false || !facts.usersWithoutPassword?.includes(user)) return null;
  return {
    code: 'password-not-kept',
    title: `The password of "${user}" would not be kept`,
    description:
      `The configuration in ${source} sets users.mutableUsers = false and declares no password for "${user}", so the password chosen in the installer would be dropped at the first boot and nobody could log in.\n` +
      `Declare one, e.g. users.users.${user}.hashedPassword = "…"; (mkpasswd -m sha-512) or hashedPasswordFile, or set users.mutableUsers = true;.`,
  };
}
