# Sourced by the bed scripts: where the test beds live, which names exist, and
# the guard that keeps `rm -rf` out of anything still mounted.
#
# A bed is a debootstrap chroot of one Debian release, kept between runs in a
# root-owned folder outside any repository (NOI_BEDS_DIR overrides it).
beds_dir=${NOI_BEDS_DIR:-/var/cache/nixos-offline-installer/beds}

# bookworm is this machine itself (Debian 12); the others are chroots named by
# their Debian suite.
bed_names=(bookworm trixie sid)
chroot_bed_names=(trixie sid)

bed_is_chroot() {
  local name
  for name in "${chroot_bed_names[@]}"; do [ "$1" = "$name" ] && return 0; done
  return 1
}

bed_check_name() {
  local name
  for name in "${bed_names[@]}"; do [ "$1" = "$name" ] && return 0; done
  echo "unknown test bed '$1': use one of ${bed_names[*]}" >&2
  return 2
}

# Mount points at or below $1 in this mount namespace (one per line).
mounts_under() {
  local dir
  dir=$(realpath -m "$1")
  findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1'
}

# Deletes a bed folder only when nothing is mounted in it: a bind-mounted /dev
# or repository below it would otherwise be emptied too.
remove_unmounted() {
  local left
  left=$(mounts_under "$1")
  if [ -n "$left" ]; then
    echo "not removing $1: still mounted there:" >&2
    echo "$left" >&2
    return 1
  fi
  rm -rf --one-file-system "$1"
}
