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

    systemd.services.nixos-offline-installer-unattended = {
      description = "Unattended NixOS install from the answer file on the kernel command line";
      wantedBy = [ "multi-user.target" ];
      requires = [ "nixos-offline-installer.service" ];
      after = [ "nixos-offline-installer.service" "systemd-vconsole-setup.service" "getty@${cfg.unattended.tty}.service" ];
      # The console is this unit's while it runs.
      conflicts = [ "getty@${cfg.unattended.tty}.service" ];
      unitConfig.ConditionKernelCommandLine = param;
      # Never run again by a configuration switch: it erases a disk.
      restartIfChanged = false;
      environment.NOI_SOCKET = socket;
      path = [ cfg.package ];
      script = import ./console-install-script.nix {
        inherit param socket;
        what = "path";
        example = "/iso/nix-cfg/install.json";
        banner = "UNATTENDED INSTALL";
        warning = "The disk it names will be erased.";
        flag = "--answers";
      };
      serviceConfig = {
        # "+": setting a console's font needs privileges the sandbox below drops.
        ExecStartPre = lib.mkIf (cfg.unattended.font != null) "+${pkgs.kbd}/bin/setfont -C /dev/${cfg.unattended.tty} ${cfg.unattended.font}";
        # Simple, not oneshot: multi-user.target must not wait for a whole install.
        Type = "simple";
        # A failed install is reported on the console and in the daemon's log; repeating it would erase the disk again.
        Restart = "no";
        StandardInput = "tty";
        StandardOutput = "tty";
        StandardError = "tty";
        TTYPath = "/dev/${cfg.unattended.tty}";
        # A clean console (the getty's state reset, its session hung up); not deallocated at the end, so the result stays on screen.
        TTYReset = true;
        TTYVHangup = true;
        # Only a client of the daemon's socket: no capabilities, nothing writable (connecting to a
        # socket is not a write to its file system), no network of its own.
        CapabilityBoundingSet = "";
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateNetwork = true;
        RestrictAddressFamilies = [ "AF_UNIX" ];
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        SystemCallArchitectures = "native";
      };
    };
  };
}
