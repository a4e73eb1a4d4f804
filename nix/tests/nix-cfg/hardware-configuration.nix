# Template for the test VM; replaced by the generated one during the install.
{ ... }:
{
  boot.initrd.availableKernelModules = [ "virtio_pci" "virtio_blk" "ata_piix" "sd_mod" ];
  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
}
