# A representative hardware configuration as nixos-generate-config writes it
# on such a machine (nixos/modules/installer/tools/nixos-generate-config.pl).
# The ISO builds the target with it too, so what it pulls in is on the ISO.
# (The tool also writes nixpkgs.hostPlatform = lib.mkDefault "<system>"; left out
# here: the system the ISO builds for (lib.nixosSystem's `system`) decides it.)
# A QEMU/KVM guest (virtio disks, the qemu-guest profile).
{ config, lib, pkgs, modulesPath, ... }:
{
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];

  boot.initrd.availableKernelModules = [ "ahci" "xhci_pci" "virtio_pci" "virtio_scsi" "sr_mod" "virtio_blk" ];
  boot.initrd.kernelModules = [ ];
  boot.kernelModules = [ "kvm-intel" ];
  boot.extraModulePackages = [ ];

  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  fileSystems."/boot" = { device = "/dev/disk/by-label/boot"; fsType = "vfat"; options = [ "fmask=0077" "dmask=0077" ]; };
  swapDevices = [ ];
  networking.useDHCP = lib.mkDefault true;
}
