# A check that only evaluates: the ISO image's derivation and every store path
# the ISO carries (isoImage.storeContents: each hardware profile's system, and
# its build closure when buildDependencies = "iso"). Building it writes their
# .drv paths to a file and builds none of them, so `nix flake check` fails
# where an ISO would not evaluate (e.g. an x86-only package on aarch64).
{ pkgs, installer }:
let
  inherit (installer.config) isoImage system;
  # storeContents holds packages, a source path and, for build dependencies, .drv paths (strings).
  drvPathOf = item: builtins.unsafeDiscardStringContext (if item ? drvPath then item.drvPath else toString item);
  drvPaths = map drvPathOf ([ system.build.isoImage ] ++ isoImage.storeContents);
in
pkgs.writeText "offline-installer-evaluates" (builtins.concatStringsSep "\n" drvPaths + "\n")
