# The folder `fleet serve --netboot` reads (src/fleet/boot-files.ts): the netboot
# system's kernel (bzImage), initrd, and its kernel parameters on one line (its
# init and boot.kernelParams, as nixpkgs' netboot.ipxe passes them). Regular
# files, not links: the seed refuses links in that folder. Built by
# `nix build .#netboot-x86_64-linux`; the ISO carries it at
# nix/installer-defaults.json's fleet.netbootDir (nix/iso.nix).
# netboot: the evaluated netboot system (lib.nixosSystem with nix/netboot.nix).
{ runCommand, netboot }:
let
  inherit (netboot.config.system) build;
  kernelParams = "init=${build.toplevel}/init ${toString netboot.config.boot.kernelParams}";
in
runCommand "nixos-offline-installer-netboot" { passAsFile = [ "kernelParams" ]; inherit kernelParams; } ''
  mkdir $out
  cp ${build.kernel}/${netboot.config.system.boot.loader.kernelFile} $out/bzImage
  cp ${build.netbootRamdisk}/initrd $out/initrd
  cp $kernelParamsPath $out/kernel-params
''
