{
  description = "An installer ISO that puts your NixOS configuration (nix-cfg/) on machines with no network";

  # The current NixOS stable release (see docs/nixos-options.md for what is used from it).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.11";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forEachSystem = f: lib.genAttrs systems f;

      npmRegistry = import ./nix/npm-registry.nix;
      installerPackage = pkgs: pkgs.callPackage ./nix/package.nix { inherit npmRegistry; };

      # The nixpkgs input as plain data: what the ISO build and the daemon on the
      # ISO both evaluate the target with (nix/target-system.nix).
      nixpkgsInfo = import ./nix/flake-source-info.nix nixpkgs;

      # A nix-cfg that is a flake, called from its flake.lock (nix/flake-config.nix); null for a classic one.
      callNixCfgFlake = { system, nixCfg, flakeConfiguration ? null }:
        if builtins.pathExists (nixCfg + "/flake.nix")
        then import ./nix/flake-config.nix { inherit nixCfg system; configuration = flakeConfiguration; }
        else null;

      # The configuration that is installed, evaluated exactly as the daemon on
      # the ISO evaluates an unchanged copy of it: a flake's chosen nixosConfigurations entry, else configuration.nix.
      mkTarget = { system, nixCfg, flakeConfiguration ? null }:
        let flake = callNixCfgFlake { inherit system nixCfg flakeConfiguration; }; in
        if flake != null then flake.target
        else import ./nix/target-system.nix { nixpkgs = nixpkgsInfo; inherit system; } {
          configuration = "${nixCfg}/configuration.nix";
        };

      # The installer a fleet's targets boot over the network (nix/netboot.nix), and the folder of its
      # kernel, initrd and kernel parameters that `fleet serve --netboot` reads (nix/netboot-files.nix).
      mkNetboot = system: lib.nixosSystem {
        inherit system;
        specialArgs.nixosOfflineInstaller = installerPackage;
        modules = [ ./nix/netboot.nix ];
      };
      netbootFiles = system: nixpkgs.legacyPackages.${system}.callPackage ./nix/netboot-files.nix { netboot = mkNetboot system; };
      # Fleet boot files are x86_64's only: iPXE's BIOS loader (undionly.kpxe) and the UEFI binary the seed hands out are x86.
      fleetBootFiles = system: if system == "x86_64-linux" then netbootFiles system else null;

      # An installer ISO for the configuration folder nixCfg (a path holding configuration.nix, or a flake);
      # flakeConfiguration: which nixosConfigurations entry of a flake the ISO carries built (needed when it has several).
      mkIso = { system, nixCfg ? ./nix-cfg, flakeConfiguration ? null, extraModules ? [ ] }: lib.nixosSystem {
        inherit system;
        specialArgs = {
          target = mkTarget { inherit system nixCfg flakeConfiguration; };
          nixCfgFlake = callNixCfgFlake { inherit system nixCfg flakeConfiguration; };
          inherit nixCfg;
          nixosOfflineInstaller = installerPackage;
          netbootFiles = fleetBootFiles system;
        };
        modules = [ ./nix/iso.nix ] ++ extraModules;
      };
    in
    {
      lib = { inherit mkIso mkTarget; };

      overlays.default = final: prev: { nixos-offline-installer = installerPackage final; };
      # Needs overlays.default (or services.nixos-offline-installer.package set).
      nixosModules.default = ./nix/module.nix;

      # nix flake init -t <this flake>: your own repository with nix-cfg/ and a flake calling lib.mkIso.
      templates.default = {
        path = ./template;
        description = "Your NixOS configuration (nix-cfg/) and a flake that builds the offline installer ISO for it";
      };

      packages = forEachSystem (system:
        let pkgs = nixpkgs.legacyPackages.${system}; in {
          default = installerPackage pkgs;
          nixos-offline-installer = installerPackage pkgs;
          manifest = pkgs.callPackage ./nix/manifest.nix {
            evaluated = mkTarget { inherit system; nixCfg = ./nix-cfg; };
            flake = let flake = callNixCfgFlake { inherit system; nixCfg = ./nix-cfg; }; in if flake == null then null else flake.manifest;
          };
        });

      nixosConfigurations = lib.listToAttrs (map (system: lib.nameValuePair "offline-installer-${system}" (mkIso { inherit system; })) systems);

      # nix build .#iso.offline-installer-x86_64-linux
      iso = lib.mapAttrs (_: installer: installer.config.system.build.isoImage) self.nixosConfigurations;

      # nix build .#netboot-x86_64-linux: bzImage, initrd and kernel-params of the fleet's netboot installer
      # (the installer, Nix and the daemon, without the target systems); the x86_64 ISO carries it.
      netboot-x86_64-linux = netbootFiles "x86_64-linux";

      # `nix flake check` evaluates, for each system, the ISO and everything it puts
      # in its store (each hardware profile's variant included), not only its system.
      # Boots a test ISO with no network, installs through the daemon's CLI and
      # boots the installed system (needs KVM): nix build .#checks.x86_64-linux.offline-install
      checks = lib.recursiveUpdate
        (forEachSystem (system: {
          "offline-installer-${system}-evaluates" = import ./nix/iso-evaluates.nix {
            pkgs = nixpkgs.legacyPackages.${system};
            installer = self.nixosConfigurations."offline-installer-${system}";
          };
        }))
        {
          x86_64-linux.offline-install = import ./nix/tests/offline-install.nix {
            inherit nixpkgs mkIso;
            system = "x86_64-linux";
          };
        };
    };
}
