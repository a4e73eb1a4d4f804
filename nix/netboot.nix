# The installer a fleet's targets boot over the network (the seed's
# `fleet serve` hands its kernel and initrd out; nix/netboot-files.nix lays them
# out): nixpkgs' minimal netboot system (installer/netboot/netboot-minimal.nix:
# the whole store in a squashfs inside the initrd, a tmpfs root) with Nix and
# the install daemon. No target system is in it, and no nixpkgs source: a target
# never evaluates, it gets its built system from the seed.
# nixosOfflineInstaller: the package function (flake.nix's installerPackage).
{ config, lib, pkgs, modulesPath, nixosOfflineInstaller, ... }:
let
  cfg = config.services.nixos-offline-installer;
  # The seed's iPXE script puts both on the kernel command line (src/fleet/boot-files.ts); the CLI reads the secret itself.
  defaults = builtins.fromJSON (builtins.readFile ./installer-defaults.json);
  param = defaults.fleet.urlParam;
  inherit (defaults.daemon) socket;
in
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

  # A target's install is the daemon's (src/job/fleet-target-stages.ts): it registers with the seed over
  # HTTP (node's fetch; the MAC from getifaddrs, over netlink) and copies the system with Nix's ssh-ng,
  # which runs ssh. A netbooted target serves no fleet and its one network is the fleet's, whose
  # address it learns only at boot: so here, not in the ISO's daemon, IP is allowed.
  systemd.services.nixos-offline-installer = {
    path = [ pkgs.openssh ];
    serviceConfig = {
      RestrictAddressFamilies = [ "AF_INET" "AF_NETLINK" ];
      IPAddressAllow = [ "any" ];
    };
  };

  # The target's install at boot: `nixos-offline-installer install --fleet <url>` from the kernel
  # command line, on tty1 as the unattended install (nix/unattended.nix), whose console it shares.
  systemd.services.nixos-offline-installer-fleet-target = import ./console-install-unit.nix {
    inherit param socket;
    tty = "tty1";
    description = "NixOS install of this fleet target from the seed on the kernel command line";
    after = [ "network-online.target" ];
    wants = [ "network-online.target" ];
    # ssh: what Nix's ssh-ng runs, also here for a technician's `install --fleet` by hand on this console.
    path = [ cfg.package pkgs.openssh ];
    what = "URL";
    example = "http://10.77.0.1:8470";
    banner = "FLEET INSTALL";
    warning = "The disk the seed's answer file names will be erased.";
    flag = "--fleet";
  };

  system.stateVersion = lib.mkDefault lib.trivial.release;
}
