#!/usr/bin/env bash
# Makes sure the test bed NAME (trixie or sid) exists and is fresh: builds it
# with debootstrap and apt-get if it is missing, lacks a package the tests now
# need, or its package lists are more than a week old. Prints the bed's path.
#
#   bed-build.sh NAME
#
# A bed is built in a temporary folder next to it and renamed into place only
# when complete, so a half-built bed is never used. If refreshing an old bed
# fails (e.g. no network), the old one is kept and used, with a warning.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
source "$scripts/bed-common.sh"
source "$scripts/bed-packages.sh"

name=${1:?usage: bed-build.sh NAME}
bed_check_name "$name"
bed_is_chroot "$name" || { echo "bed $name is this machine: nothing to build" >&2; exit 2; }
bed="$beds_dir/$name"
stamp="$bed/etc/nixos-offline-installer-bed"
max_age_days=7

mapfile -t packages < <(bed_packages "$name")
wanted="packages: ${packages[*]}"

fail() {
  echo "test bed $name: $1 failed${2:+ ($2)}" >&2
  exit 1
}

# Why the bed needs (re)building, or nothing when it is fine.
why_rebuild() {
  if [ ! -f "$stamp" ]; then echo "missing"; return; fi
  if [ "$(grep '^packages: ' "$stamp")" != "$wanted" ]; then echo "package list changed"; return; fi
  local age=$(($(date +%s) - $(stat -c %Y "$stamp")))
  if [ "$age" -gt $((max_age_days * 86400)) ]; then echo "package lists $((age / 86400)) days old"; return; fi
}

mkdir -p "$beds_dir"
chmod 0755 "$beds_dir"
# One builder per bed at a time; runs hold a shared lock, so a bed is never replaced under one.
exec 9>"$beds_dir/$name.lock"
flock 9

# With the lock held no run is using the bed: a run's /tmp still here was left by a killed run.
for old in "$beds_dir/runs/$name"-*; do
  if [ -e "$old" ]; then remove_unmounted "$old"; fi
done

reason=$(why_rebuild)
if [ -z "$reason" ]; then
  echo "$bed"
  exit 0
fi

# Packages only added to the list: installed into the existing bed (a minute)
# instead of a new one (10 minutes or more); the stamp keeps its age, so the
# weekly rebuild still comes. Anything else, or a failure, builds a new bed.
top_up() {
  local had added=() p log="$beds_dir/$name.top-up.log"
  had=" $(sed -n 's/^packages: //p' "$stamp") "
  for p in $(sed -n 's/^packages: //p' "$stamp"); do
    [[ " ${packages[*]} " == *" $p "* ]] || return 1
  done
  for p in "${packages[@]}"; do [[ "$had" == *" $p "* ]] || added+=("$p"); done
  [ "${#added[@]}" -gt 0 ] || return 1
  echo "test bed $name: installing ${added[*]} into the existing bed (log: $log)" >&2
  up() { bash "$scripts/bed-chroot.sh" "$bed" --env DEBIAN_FRONTEND=noninteractive -- "$@" >>"$log" 2>&1; }
  : >"$log"
  up apt-get -o Acquire::Check-Valid-Until=false update && up apt-get install -y --no-install-recommends "${added[@]}" || return 1
  up apt-get clean || true
  cp -p "$stamp" "$stamp.new" && sed -i "s/^packages: .*/$wanted/" "$stamp.new"
  touch -r "$stamp" "$stamp.new" && mv "$stamp.new" "$stamp"
}
if [ "$reason" = "package list changed" ] && top_up; then
  echo "$bed"
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 || {
  echo "installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } ||
    fail "installing debootstrap on this machine (apt-get install debootstrap)"
}

# Leftovers of builds that were interrupted.
for old in "$beds_dir/.$name".*; do
  if [ -e "$old" ]; then remove_unmounted "$old"; fi
done

echo "building test bed $name ($reason) in $bed ..." >&2
started=$(date +%s)
new=$(mktemp -d "$beds_dir/.$name.new-XXXXXX")
chmod 0755 "$new"
log="$new.log"
trap 'remove_unmounted "$new" || true' EXIT

build() {
  # debootstrap's own default mirror unless NOI_BED_MIRROR names another.
  echo "  debootstrap --variant=minbase $name (log: $log)" >&2
  debootstrap --variant=minbase "$name" "$new" ${NOI_BED_MIRROR:+"$NOI_BED_MIRROR"} >"$log" 2>&1 ||
    fail "debootstrap --variant=minbase $name" "last lines of $log: $(tail -n 3 "$log" | tr '\n' ' ')"
  # No service starts inside the chroot while packages install.
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
  chmod 0755 "$new/usr/sbin/policy-rc.d"

  in_bed() { bash "$scripts/bed-chroot.sh" "$new" --env DEBIAN_FRONTEND=noninteractive -- "$@" >>"$log" 2>&1; }
  echo "  apt-get update" >&2
  # Signatures are checked; an expired Valid-Until (sid's lasts a week, a
  # mirror snapshot can be older) is not a reason to have no bed.
  in_bed apt-get -o Acquire::Check-Valid-Until=false update ||
    fail "apt-get update" "last lines of $log: $(tail -n 3 "$log" | tr '\n' ' ')"
  echo "  apt-get install ${#packages[@]} packages" >&2
  # Installed after debootstrap, not with --include: dpkg fails there on a virtual dependency.
  in_bed apt-get install -y --no-install-recommends "${packages[@]}" ||
    fail "apt-get install -y --no-install-recommends ${packages[*]}" "last lines of $log: $(tail -n 3 "$log" | tr '\n' ' ')"
  in_bed apt-get clean || true
  in_bed nix-build --version || fail "running nix-build --version in the new bed" "see $log"
  echo "$wanted" >"$new/etc/nixos-offline-installer-bed"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$new/etc/nixos-offline-installer-bed"
}

# The build runs in a subshell so that a failure can fall back on an old bed.
if ! (build); then
  if [ -f "$stamp" ] && [ "$reason" != "package list changed" ]; then
    echo "test bed $name: refreshing failed; using the existing bed ($reason)" >&2
    echo "$bed"
    exit 0
  fi
  exit 1
fi

# Swap in: the old bed moves aside first, then goes.
if [ -e "$bed" ]; then
  old="$beds_dir/.$name.old-$$"
  mv "$bed" "$old"
  mv "$new" "$bed"
  remove_unmounted "$old"
else
  mv "$new" "$bed"
fi
mv "$log" "$beds_dir/$name.build.log"
trap - EXIT
echo "test bed $name built in $(($(date +%s) - started)) s" >&2
echo "$bed"
