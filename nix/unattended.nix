# The unattended install at boot: when the kernel command line has
# nixos-offline-installer.answers=<path>, a unit runs
#   nixos-offline-installer install --answers <path>
# on tty1, so a technician sees the progress and the result on the machine's
# screen (Ctrl-C there cancels). The daemon does the install; this unit is only
# its client. Imported by nix/module.nix; nix/iso-unattended.nix adds the ISO's
# boot menu entry that sets the parameter.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.nixos-offline-installer;
  inherit (lib) mkEnableOption mkOption mkIf types;
  param = "nixos-offline-installer.answers";
  socket = (builtins.fromJSON (builtins.readFile ./installer-defaults.json)).daemon.socket;
in
{
  options.services.nixos-offline-installer.unattended = {
    enable = mkEnableOption "the unattended install at boot, when the kernel command line has ${param}=<path of an answer file>" // { default = true; };

    tty = mkOption {
      type = types.str;
      default = "tty1";
      description = "The virtual console the unattended install shows its progress and result on (its getty is stopped meanwhile).";
    };

    font = mkOption {
      type = types.nullOr types.path;
      default = "${pkgs.terminus_font}/share/consolefonts/ter-v32n.psf.gz";
      defaultText = lib.literalExpression ''"''${pkgs.terminus_font}/share/consolefonts/ter-v32n.psf.gz"'';
      description = "The console font while the unattended install runs: 16x32 glyphs, readable from across the room. null keeps the console's font.";
    };
  };

  config = mkIf (cfg.enable && cfg.unattended.enable) {
    # What the daemon runs to partition, format and encrypt the disk
    # (util-linux: sfdisk, partx, wipefs, mount, swapon; kmod: modprobe --dry-run).
    systemd.services.nixos-offline-installer = {
      path = [ pkgs.util-linux pkgs.dosfstools pkgs.e2fsprogs pkgs.cryptsetup pkgs.kmod ];
      # Added to the unit's AF_UNIX: cryptsetup checks the kernel's ciphers over
      # AF_ALG, and device-mapper waits for udev's uevents over AF_NETLINK.
      # Neither is IP traffic; IPAddressDeny=any stays.
      serviceConfig.RestrictAddressFamilies = [ "AF_ALG" "AF_NETLINK" ];
    };

    systemd.services.nixos-offline-installer-unattended = import ./console-install-unit.nix {
      inherit param socket;
      inherit (cfg.unattended) tty;
      description = "Unattended NixOS install from the answer file on the kernel command line";
      after = [ "systemd-vconsole-setup.service" ];
      path = [ cfg.package ];
      what = "path";
      example = "/iso/nix-cfg/install.json";
      banner = "UNATTENDED INSTALL";
      warning = "The disk it names will be erased.";
      flag = "--answers";
      # "+": setting a console's font needs privileges the sandbox drops.
      extraServiceConfig.ExecStartPre = lib.mkIf (cfg.unattended.font != null) "+${pkgs.kbd}/bin/setfont -C /dev/${cfg.unattended.tty} ${cfg.unattended.font}";
    };
  };
}
