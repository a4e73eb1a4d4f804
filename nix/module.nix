# services.nixos-offline-installer: the install daemon on the live system.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.nixos-offline-installer;
  inherit (lib) mkEnableOption mkPackageOption mkOption mkIf mkMerge types literalExpression concatStringsSep optionalAttrs;
  # The daemon's defaults and what this module gives it, shared with the daemon and the unit.
  defaults = builtins.fromJSON (builtins.readFile ./installer-defaults.json);

  # nixos-install builds nothing here (it gets the built system) and writes the
  # target's store itself (--store <root>). In its chroot there is no
  # nix-daemon socket, and the boot loader's installer runs nix-env there
  # (systemd-boot's lists the generations), so it must not inherit the unit's
  # NIX_REMOTE=daemon.
  nixosInstall = pkgs.writeShellScriptBin "nixos-install" ''
    unset NIX_REMOTE
    exec ${lib.getExe' config.system.build.nixos-install "nixos-install"} "$@"
  '';
in
{
  # Unattended installs started at boot from the kernel command line, the medium check, and serving a fleet.
  imports = [ ./unattended.nix ./check-medium.nix ./fleet.nix ];

  options.services.nixos-offline-installer = {
    enable = mkEnableOption "the offline NixOS installer daemon, which installs a configuration from this system's own Nix store";

    package = mkPackageOption pkgs "nixos-offline-installer" { };

    configDirs = mkOption {
      type = types.listOf types.str;
      default = defaults.daemon.configDirs;
      description = ''
        Configuration folders, in order of preference: the first that holds a
        configuration.nix is installed. A folder dropped in after boot (the
        first) wins over the one shipped on the ISO.
      '';
    };

    socketGroup = mkOption {
      type = types.str;
      default = defaults.service.socketGroup;
      description = ''
        Group allowed to use the daemon's socket besides root; the module
        creates it. Whoever is in it can install over any disk, so add only the
        user Calamares runs as (the ISO adds its live user).
      '';
    };

    evalUser = mkOption {
      type = types.str;
      default = defaults.service.evalUser;
      description = ''
        Unprivileged system user (with a group of the same name) that
        evaluates the configurations to install, through nix-daemon; the
        module creates both. The daemon itself is root: evaluating as this
        user keeps a configuration's code from reading root-only files
        (`builtins.readFile /etc/shadow`) into a .drv or a reply. Its HOME,
        for Nix's caches, is ${defaults.daemon.evalHome}.
      '';
    };

    logLevel = mkOption {
      type = types.enum defaults.daemon.logLevels;
      default = defaults.daemon.logLevel;
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

    nixosExpr = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = ''
        The NixOS expression the daemon evaluates and builds the target with
        (`nix-build <expr> -A system -I nixos-config=...`); null means
        `<nixpkgs/nixos>`. The ISO sets the one that reproduces its own build
        of the target (nix/target-system.nix), so an unchanged configuration
        builds nothing.
      '';
    };

    manifest = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "Facts about the configuration shipped on the ISO (nix/manifest.nix), so its checks need no evaluation.";
    };
  };

  config = mkIf cfg.enable (mkMerge [ {
    assertions = [
      {
        assertion = config.nix.enable;
        message = "services.nixos-offline-installer sends its builds to nix-daemon (NIX_REMOTE=daemon): nix.enable must stay true.";
      }
    ];

    environment.systemPackages = [ cfg.package ];
    systemd.packages = [ cfg.package ];
    # A group given by name is created here; a numeric gid names one that exists.
    users.groups = lib.optionalAttrs (builtins.match "[0-9]+" cfg.socketGroup == null) { ${cfg.socketGroup} = { }; };

    systemd.services.nixos-offline-installer = {
      wantedBy = [ "multi-user.target" ];
      # Builds go to nix-daemon (the unit's NIX_REMOTE=daemon); its socket comes with nixpkgs' Nix module.
      wants = [ "nix-daemon.socket" ];
      after = [ "nix-daemon.socket" ];
      # What the install steps run: Nix, nixos-install (with nixos-enter) and
      # nixos-generate-config. nixos-enter is taken from pkgs: newer nixpkgs
      # (tools.nix) keep config.system.build.nixos-enter only as an alias that
      # warns at evaluation ("deprecated, use pkgs.nixos-enter"); an older one
      # without pkgs.nixos-enter still has the system.build attribute.
      path = [
        config.nix.package
        nixosInstall
        (pkgs.nixos-enter or config.system.build.nixos-enter)
        config.system.build.nixos-generate-config
        pkgs.util-linux
        pkgs.coreutils
        # A fleet's configuration travels as a tar archive (src/stage/config-archive.ts): packed on the seed, unpacked on the target.
        pkgs.gnutar
      ];
      environment = {
        NIX_REMOTE = "daemon";
        NOI_CONFIG_DIRS = concatStringsSep ":" cfg.configDirs;
        NOI_SOCKET_GROUP = cfg.socketGroup;
        NOI_LOG_LEVEL = cfg.logLevel;
        NOI_EVAL_USER = cfg.evalUser;
      }
      // optionalAttrs (cfg.nixpkgs != null) { NOI_NIXPKGS = "${cfg.nixpkgs}"; }
      // optionalAttrs (cfg.nixosExpr != null) { NOI_NIXOS_EXPR = "${cfg.nixosExpr}"; }
      // optionalAttrs (cfg.manifest != null) { NOI_MANIFEST = "${cfg.manifest}"; };
      serviceConfig.ExecStart = [ "" "${lib.getExe cfg.package} daemon" ];
    };
  }
  {
    # Evaluates the configurations (src/nix/eval-user.ts): no login, no home
    # of its own (the daemon makes its HOME), a group only it is in, so the
    # prepared copies it reads (root:<group>, 0750) are shut to everyone else.
    users.users.${cfg.evalUser} = {
      isSystemUser = true;
      group = cfg.evalUser;
      description = "NixOS offline installer: evaluates configurations";
    };
    users.groups.${cfg.evalUser} = { };
  } ]);
}
