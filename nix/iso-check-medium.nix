# The ISO's "Check the medium, then install" boot menu entry, as Fedora's and
# Ubuntu's installers have: a specialisation (the ISO's boot menus list each
# as an entry of its own), the same system with the kernel parameter that
# starts nix/check-medium.nix's unit before the graphical session.
# Imported by nix/iso.nix.
{ ... }:
{
  specialisation.check-medium.configuration = {
    isoImage.configurationName = "Check the medium, then install";
    boot.kernelParams = [ "nixos-offline-installer.check-medium" ];
  };
}
