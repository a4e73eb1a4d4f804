# services.nixos-offline-installer: the install daemon on the live system.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.nixos-offline-installer;
  inherit (lib) mkEnableOption mkPackageOption mkOption mkIf types literalExpression concatStringsSep optionalAttrs;
in
{
  options.services.nixos-offline-installer = {
    enable = mkEnableOption "the offline NixOS installer daemon, which installs a configuration from this system's own Nix store";

    package = mkPackageOption pkgs "nixos-offline-installer" { };

    configDirs = mkOption {
      type = types.listOf types.str;
      default = [ "/tmp/nix-cfg" "/iso/nix-cfg" ];
      description = ''
        Configuration folders, in order of preference: the first that holds a
        configuration.nix is installed. A folder dropped in after boot (the
        first) wins over the one shipped on the ISO.
      '';
    };

    socketGroup = mkOption {
      type = types.str;
      default = "users";
      description = "Group allowed to use the daemon's socket besides root: the group of the user Calamares runs as.";
    };

    logLevel = mkOption {
      type = types.enum [ "fatal" "error" "warn" "info" "debug" "trace" ];
      default = "info";
      description = "Level of the daemon's journal and install logs.";
    };

    nixpkgs = mkOption {
      type = types.nullOr types.path;
      default = pkgs.path;
      defaultText = literalExpression "pkgs.path";
      description = ''
        The nixpkgs the target is built with, passed to every Nix command as
        `-I nixpkgs=...`, so nothing is looked up in a channel or the flake
        registry.
      '';
    };

    manifest = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "Facts about the configuration shipped on the ISO (nix/manifest.nix), so its checks need no evaluation.";
    };
  };

  config = mkIf cfg.enable {
    environment.systemPackages = [ cfg.package ];
    systemd.packages = [ cfg.package ];

    systemd.services.nixos-offline-installer = {
      wantedBy = [ "multi-user.target" ];
      # What the install steps run: Nix, nixos-install (with nixos-enter) and nixos-generate-config.
      path = [
        config.nix.package
        config.system.build.nixos-install
        config.system.build.nixos-enter
        config.system.build.nixos-generate-config
        pkgs.util-linux
        pkgs.coreutils
      ];
      environment = {
        NOI_CONFIG_DIRS = concatStringsSep ":" cfg.configDirs;
        NOI_SOCKET_GROUP = cfg.socketGroup;
        NOI_LOG_LEVEL = cfg.logLevel;
      }
      // optionalAttrs (cfg.nixpkgs != null) { NOI_NIXPKGS = "${cfg.nixpkgs}"; }
      // optionalAttrs (cfg.manifest != null) { NOI_MANIFEST = "${cfg.manifest}"; };
      serviceConfig.ExecStart = [ "" "${lib.getExe cfg.package} daemon" ];
    };
  };
}
