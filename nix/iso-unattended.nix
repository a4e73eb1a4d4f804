# The ISO's "Install unattended" boot menu entry, when the configuration folder
# shipped on the ISO holds an answer file (nix-cfg/install.json). It is a
# specialisation, which the ISO's boot menus list as an entry of its own: the
# same system, booted to the console (no graphical session), with the kernel
# parameter that starts nix/unattended.nix's unit (which shows it in a large
# console font).
# Imported by nix/iso.nix, which has nixCfg from the flake.
{ lib, nixCfg, ... }:
let
  answers = "/iso/nix-cfg/install.json";
in
{
  config = lib.mkIf (builtins.pathExists (nixCfg + "/install.json")) {
    specialisation.unattended.configuration = {
      isoImage.configurationName = "Install unattended";
      boot.kernelParams = [
        "nixos-offline-installer.answers=${answers}"
        # The console, not GNOME and Calamares: nobody is at the keyboard.
        "systemd.unit=multi-user.target"
      ];
      services.nixos-offline-installer.unattended.enable = true;
    };
  };
}
