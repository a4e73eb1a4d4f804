{
  description = "An installer ISO that puts your NixOS configuration (nix-cfg/) on machines with no network";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forEachSystem = f: lib.genAttrs systems f;

      # package-lock.json records no download URLs; the npm registry's URL comes
      # from this file (README: `npm config get registry > nix/npm-registry.txt`).
      registryFile = ./nix/npm-registry.txt;
      npmRegistry =
        if builtins.pathExists registryFile
        then lib.removeSuffix "\n" (builtins.readFile registryFile)
        else throw "nix/npm-registry.txt is missing: run `npm config get registry > nix/npm-registry.txt` and `git add nix/npm-registry.txt` (see README, \"Building the ISO\").";

      installerPackage = pkgs: pkgs.callPackage ./nix/package.nix { inherit npmRegistry; };

      # A nix-cfg that is a flake, called from its flake.lock (nix/flake-config.nix); null for a classic one.
      callNixCfgFlake = { nixCfg, flakeConfiguration ? null }:
        if builtins.pathExists (nixCfg + "/flake.nix")
        then import ./nix/flake-config.nix { inherit nixCfg; configuration = flakeConfiguration; }
        else null;

      # The configuration that is installed, as the ISO's build sees it.
      mkTarget = { system, nixCfg, flakeConfiguration ? null }:
        let flake = callNixCfgFlake { inherit nixCfg flakeConfiguration; }; in
        if flake != null then flake.target
        else lib.nixosSystem {
          inherit system;
          modules = [ "${nixCfg}/configuration.nix" ];
        };

      # flakeConfiguration: which nixosConfigurations entry of a flake nix-cfg the ISO carries built (needed when it has several).
      mkIso = { system, nixCfg ? ./nix-cfg, flakeConfiguration ? null, extraModules ? [ ] }: lib.nixosSystem {
        inherit system;
        specialArgs = {
          target = mkTarget { inherit system nixCfg flakeConfiguration; };
          nixCfgFlake = callNixCfgFlake { inherit nixCfg flakeConfiguration; };
          inherit nixCfg;
          nixosOfflineInstaller = installerPackage;
        };
        modules = [ ./nix/iso.nix ] ++ extraModules;
      };
    in
    {
      lib = { inherit mkIso mkTarget; };

      overlays.default = final: prev: { nixos-offline-installer = installerPackage final; };
      # Needs overlays.default (or services.nixos-offline-installer.package set).
      nixosModules.default = ./nix/module.nix;

      packages = forEachSystem (system:
        let pkgs = nixpkgs.legacyPackages.${system}; in {
          default = installerPackage pkgs;
          nixos-offline-installer = installerPackage pkgs;
          manifest = pkgs.callPackage ./nix/manifest.nix {
            evaluated = mkTarget { inherit system; nixCfg = ./nix-cfg; };
            flake = let flake = callNixCfgFlake { nixCfg = ./nix-cfg; }; in if flake == null then null else flake.manifest;
          };
        });

      nixosConfigurations = lib.listToAttrs (map (system: lib.nameValuePair "offline-installer-${system}" (mkIso { inherit system; })) systems);

      # nix build .#iso.offline-installer-x86_64-linux
      iso = lib.mapAttrs (_: installer: installer.config.system.build.isoImage) self.nixosConfigurations;

      # Boots a test ISO with no network, installs through the daemon's CLI and
      # boots the installed system (needs KVM): nix build .#checks.x86_64-linux.offline-install
      checks.x86_64-linux.offline-install = import ./nix/tests/offline-install.nix {
        inherit nixpkgs mkIso;
        system = "x86_64-linux";
      };
    };
}
