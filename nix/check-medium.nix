# services.nixos-offline-installer.checkMedium: with the kernel parameter
# nixos-offline-installer.check-medium on the command line (the ISO's boot
# entry "Check the medium, then install", nix/iso-check-medium.nix), every
# store path the live system carries is checked against its registered hash
# before the graphical session starts; the report is on the first console.
# A damaged medium keeps Calamares from starting: an install from it would
# fail halfway.
# Imported by nix/module.nix.
{ config, lib, ... }:
let
  cfg = config.services.nixos-offline-installer;
  inherit (lib) mkEnableOption mkIf;
  param = "nixos-offline-installer.check-medium";
  unit = "nixos-offline-installer-check-medium.service";
in
{
  options.services.nixos-offline-installer.checkMedium.enable = mkEnableOption "the medium check at boot, when the kernel command line has ${param}" // { default = true; };

  config = mkIf (cfg.enable && cfg.checkMedium.enable) {
    systemd.services.nixos-offline-installer-check-medium = {
      description = "Check the installer's medium against its registered hashes";
      wantedBy = [ "multi-user.target" ];
      before = [ "display-manager.service" ];
      # nix-store --load-db (the ISO's postBootCommands) registered the hashes it compares with.
      after = [ "local-fs.target" ];
      unitConfig.ConditionKernelCommandLine = param;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${lib.getExe cfg.package} check-medium";
        StandardOutput = "tty";
        StandardError = "tty";
        TTYPath = "/dev/tty1";
      };
    };
    # A failed check keeps the graphical session (and so Calamares) from starting.
    systemd.services.display-manager = {
      requires = [ unit ];
      after = [ unit ];
    };
  };
}
