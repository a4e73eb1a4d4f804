# The offline installer ISO: the NixOS graphical Calamares (GNOME) ISO with the
# install daemon, Calamares set up to use it, the user's configuration at
# /iso/nix-cfg, and the target system with what it needs already in the store.
# nixCfgFlake: nix/flake-config.nix's result when nix-cfg is a flake, else null.
# netbootFiles: nix/netboot-files.nix's folder for a fleet's targets, or null (no fleet boot files on this ISO).
{ config, lib, pkgs, modulesPath, target, nixCfgFlake, nixCfg, nixosOfflineInstaller, netbootFiles, ... }:
let
  cfg = config.offlineInstaller;
  toplevel = target.config.system.build.toplevel;
  # The daemon's NixOS expression: the target evaluated as this build evaluated it (nix/target-system.nix).
  targetExpression = pkgs.callPackage ./target-expression.nix { inherit target; };
  facts = import ./config-facts.nix { evaluated = target; withDrvPath = false; };
  # Calamares pages whose every choice the configuration sets itself: they are left out.
  hiddenPages = import ./calamares-hidden-pages.nix { inherit (facts) fixedSettings; };
  fleetDefaults = (builtins.fromJSON (builtins.readFile ./installer-defaults.json)).fleet;
  # A path of the live system under /iso, as a path on the ISO itself.
  onIso = path: assert lib.hasPrefix "/iso/" path; lib.removePrefix "/iso" path;
  manifest = pkgs.callPackage ./manifest.nix {
    evaluated = target;
    configDir = "/iso/nix-cfg";
    hardwareProfiles = cfg.hardwareProfileData;
    flake = if nixCfgFlake == null then null else nixCfgFlake.manifest;
  };
in
{
  imports = [
    "${modulesPath}/installer/cd-dvd/installation-cd-graphical-calamares-gnome.nix"
    ./module.nix
    ./hardware-profiles.nix
    ./iso-unattended.nix
    ./iso-check-medium.nix
  ];

  options.offlineInstaller.buildDependencies = lib.mkOption {
    type = lib.types.enum [ "iso" "configuration" ];
    default = "iso";
    description = ''
      How the build inputs of the target system reach the ISO, so that it can
      be rebuilt offline (after nixos-generate-config, or with a changed
      /tmp/nix-cfg):
      - "iso": the ISO's store carries the target's whole build closure (what
        isoImage.includeSystemBuildDependencies does for the ISO's own system,
        done for the target: its toplevel's drvPath in isoImage.storeContents);
        nothing to add to your configuration;
      - "configuration": your configuration sets
        system.includeBuildDependencies = true (its runtime closure then
        carries its build inputs, also on the installed system).
    '';
  };

  config = {
    assertions = [
      {
        assertion = cfg.buildDependencies != "configuration" || (target.config.system.includeBuildDependencies or false);
        message = "offlineInstaller.buildDependencies = \"configuration\" needs system.includeBuildDependencies = true in nix-cfg/configuration.nix.";
      }
    ];

    nixpkgs.overlays = [
      (final: prev: {
        nixos-offline-installer = nixosOfflineInstaller final;
        calamares-nixos-extensions = final.callPackage ./calamares-extensions.nix {
          inherit (prev) calamares-nixos-extensions;
          desktop = if facts.desktops == [ ] then "" else builtins.head facts.desktops;
          inherit hiddenPages;
        };
        # Calamares through our launcher (the ISO's autostart item starts calamares-nixos).
        calamares-nixos = final.callPackage ./calamares-launcher.nix { };
      })
    ];

    services.nixos-offline-installer = {
      enable = true;
      nixosExpr = targetExpression;
      # The target's own nixpkgs source (not a copy of pkgs.path), for <nixpkgs> lookups in nix-cfg.
      nixpkgs = target.nixpkgsSource;
      manifest = manifest;
    };
    # This ISO can seed a fleet (`fleet serve`): its ports open, its servers in units of their own (nix/fleet.nix).
    services.nixos-offline-installer.fleet = {
      enable = true;
      openFirewall = true;
    };
    # The live user runs Calamares, which talks to the daemon's socket.
    users.users.nixos.extraGroups = [ config.services.nixos-offline-installer.socketGroup ];

    # The configuration folder, seen as /iso/nix-cfg in the live system, with its manifest beside it.
    isoImage.contents = [
      { source = nixCfg; target = "/nix-cfg"; }
      { source = manifest; target = "/nix-cfg.manifest.json"; }
    ]
    # What `fleet serve` hands out by default (--ipxe, --netboot): nixpkgs' iPXE binaries (BIOS and x86_64
    # UEFI) and the netboot installer, where nix/installer-defaults.json says (the ISO is mounted at /iso).
    ++ lib.optionals (netbootFiles != null) [
      { source = netbootFiles; target = onIso fleetDefaults.netbootDir; }
      { source = "${pkgs.ipxe}/undionly.kpxe"; target = "${onIso fleetDefaults.ipxeDir}/undionly.kpxe"; }
      { source = "${pkgs.ipxe}/ipxe.efi"; target = "${onIso fleetDefaults.ipxeDir}/ipxe.efi"; }
    ];
    # A flake nix-cfg's every locked input too: the install evaluates the flake offline from these.
    # bench/medium.bench.ts (2026-12-06, 2 shared vCPUs): the copy phase from zstd took 5.9 s, from xz 13.4 s
    # (same 213 MB closure); the zstd image is 12 % larger (52 vs 47 MB). nixpkgs' own default since 24.11.
    isoImage.squashfsCompression = "zstd -Xcompression-level 19";
    isoImage.storeContents = [ toplevel manifest targetExpression target.nixpkgsSource ] ++ lib.optional (cfg.buildDependencies == "iso") toplevel.drvPath
      ++ lib.optionals (nixCfgFlake != null) nixCfgFlake.inputPaths;

    # Offline means offline: no binary cache, no flake registry, nixpkgs from the store.
    nix.settings = {
      substituters = lib.mkForce [ ];
      flake-registry = "";
      experimental-features = [ "nix-command" "flakes" ];
    };
    nix.nixPath = [ "nixpkgs=${target.nixpkgsSource}" ];
    nix.registry = lib.mkForce { };
  };
}
