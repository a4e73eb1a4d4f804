# The installer a fleet's targets boot over the network (the seed's
# `fleet serve` hands its kernel and initrd out; nix/netboot-files.nix lays them
# out): nixpkgs' minimal netboot system (installer/netboot/netboot-minimal.nix:
# the whole store in a squashfs inside the initrd, a tmpfs root) with Nix and
# the install daemon. No target system is in it, and no nixpkgs source: a target
# never evaluates, it gets its built system from the seed.
# nixosOfflineInstaller: the package function (flake.nix's installerPackage).
{ lib, modulesPath, nixosOfflineInstaller, ... }:
{
  imports = [
    "${modulesPath}/installer/netboot/netboot-minimal.nix"
    ./module.nix
  ];

  nixpkgs.overlays = [ (final: prev: { nixos-offline-installer = nixosOfflineInstaller final; }) ];

  services.nixos-offline-installer = {
    enable = true;
    # Nothing is evaluated on a target: no nixpkgs in its store (the ISO's would add its whole source).
    nixpkgs = null;
  };

  # Offline as the ISO: no binary cache, no flake registry.
  nix.settings = {
    substituters = lib.mkForce [ ];
    flake-registry = "";
    experimental-features = [ "nix-command" "flakes" ];
  };
  nix.registry = lib.mkForce { };

  # The initrd carries the store: zstd, as the ISO's squashfs (bench/medium.bench.ts), unpacks fast on the target.
  netboot.squashfsCompression = "zstd -Xcompression-level 19";

  system.stateVersion = lib.mkDefault lib.trivial.release;
}
