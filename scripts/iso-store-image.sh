#!/usr/bin/env bash
# The squashfs the ISO carries as /iso/nix-store.squashfs, built as nixpkgs'
# nixos/lib/make-squashfs.nix builds it: the closures of PATH... at its top
# (each store path a folder, -keep-as-directory), with nix-path-registration
# beside them, the registration `nix-store --load-db` reads at boot (here
# `nix-store --dump-db`, the same format closureInfo writes). With a .drv
# among PATH..., its build closure and valid outputs go in too (the ISO keeps
# what a changed configuration rebuilds from).
#
#   iso-store-image.sh IMAGE COMPRESSION PATH...
# COMPRESSION: zstd | xz | gzip ..., or an isoImage.squashfsCompression value as it
# is ("xz -Xdict-size 100% -Xbcj x86"), passed to -comp as make-squashfs.nix does.
set -euo pipefail
image=${1:?usage: iso-store-image.sh IMAGE COMPRESSION PATH...}
comp=${2:?usage: iso-store-image.sh IMAGE COMPRESSION PATH...}
shift 2
[ $# -gt 0 ] || { echo "iso-store-image.sh: no store paths given" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t paths < <(nix-store --query --requisites --include-outputs -- "$@" | sort -u)
nix-store --dump-db -- "${paths[@]}" >"$work/nix-path-registration"
# make-squashfs.nix's flags; xz as nixpkgs' default ("xz -Xdict-size 100%"), zstd as isoImage's "zstd -Xcompression-level 19".
case "$comp" in
  *' '*) read -ra comp_args <<<"-comp $comp" ;;
  xz) comp_args=(-comp xz -Xdict-size 100%) ;;
  zstd) comp_args=(-comp zstd -Xcompression-level 19) ;;
  *) comp_args=(-comp "$comp") ;;
esac
rm -f -- "$image"
mksquashfs "$work/nix-path-registration" "${paths[@]}" "$image" \
  -no-hardlinks -keep-as-directory -all-root -b 1048576 "${comp_args[@]}" \
  -processors "${ISO_STORE_PROCESSORS:-2}" -quiet -no-progress >/dev/null
