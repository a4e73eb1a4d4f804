# TEMPLATE. During the install, nixos-generate-config writes the target's own
# hardware-configuration.nix (this one is kept beside it as
# hardware-configuration.nix.template). This one only has to let the ISO build
# your system ahead of time; keep the file systems' labels or adapt them.
{ lib, modulesPath, ... }:
{
  imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];

  boot.initrd.availableKernelModules = [ "ahci" "xhci_pci" "nvme" "usb_storage" "sd_mod" "virtio_pci" "virtio_blk" ];
  boot.kernelModules = [ ];

  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  fileSystems."/boot" = { device = "/dev/disk/by-label/boot"; fsType = "vfat"; options = [ "fmask=0077" "dmask=0077" ]; };
  swapDevices = [ ];

  networking.useDHCP = lib.mkDefault true;
}
