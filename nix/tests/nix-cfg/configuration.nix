# The configuration the VM test installs: BIOS GRUB on the virtio disk, no desktop.
# Its hardware is declared here, not in hardware-configuration.nix: the one
# nixos-generate-config writes during the install is not imported, so the
# staged copy evaluates exactly as the ISO's prebuilt system and the test can
# require an install with nothing to build.
{ config, pkgs, modulesPath, ... }:
{
  imports = [
    # Lets the test driver talk to the installed system after it boots.
    (modulesPath + "/testing/test-instrumentation.nix")
  ];
  boot.initrd.availableKernelModules = [ "virtio_pci" "virtio_blk" "ata_piix" "sd_mod" ];
  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";
  networking.hostName = "offline-test";
  users.users.tech = { isNormalUser = true; extraGroups = [ "wheel" ]; initialPassword = "tech"; };
  system.stateVersion = "26.11";
}
