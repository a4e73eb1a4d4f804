#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs every test on each test bed:
# this machine (bookworm: Debian 12) and debootstrap chroots of Debian 13
# (trixie) and Debian unstable (sid), each with its own Nix and Calamares
# (README, "Tests"). Unit tests and the end-to-end installs on real Nix in a
# network namespace with no interfaces. Needs root (unshare --net, a Nix store
# in /nix, a root-owned target, chroots).
#
#   bash scripts/test.sh [--bed NAME]... [vitest args]
#
# Ends with one line per bed: Nix and Calamares versions, passed/failed/skipped,
# its time (a bed stopped at its deadline, NOI_SUITE_DEADLINE, names the tests
# it was running), the skipped tests and why, and the time of all beds.
# Exits non-zero when a test failed on any bed or a bed could not be built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bed-common.sh

beds=()
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --bed) beds+=("${2:?--bed needs a name: ${bed_names[*]}}"); shift 2 ;;
    --bed=*) beds+=("${1#--bed=}"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[ "${#beds[@]}" -gt 0 ] || beds=("${bed_names[@]}")
for name in "${beds[@]}"; do bed_check_name "$name"; done

bash scripts/setup.sh
source scripts/node24.sh
trap 'exit 130' INT
mkdir -p .tmp

# The chroot beds are built (or checked) one after the other in the
# background while the suite runs on this machine: debootstrap and apt wait on
# the network and the disk, so on a fresh machine this saves most of a bed's
# build time. A bed's run waits for its build's status file.
for name in "${beds[@]}"; do rm -f ".tmp/bed-$name.build-status" ".tmp/bed-$name.build-messages"; done
(
  for name in "${beds[@]}"; do
    bed_is_chroot "$name" || continue
    build_status=0
    bash scripts/bed-build.sh "$name" >/dev/null 2>".tmp/bed-$name.build-messages" || build_status=$?
    echo "$build_status" >".tmp/bed-$name.build-status"
  done
) &
builds_pid=$!
trap 'kill "$builds_pid" 2>/dev/null; exit 130' INT
trap 'kill "$builds_pid" 2>/dev/null || true' EXIT

declare -A outcome seconds
status=0
all_started=$(date +%s)
for name in "${beds[@]}"; do
  echo "=== test bed $name ===" >&2
  rm -f ".tmp/vitest-$name.json" ".tmp/bed-$name.versions" ".tmp/bed-$name.stalled"
  started=$(date +%s)
  if bed_is_chroot "$name"; then
    while [ ! -f ".tmp/bed-$name.build-status" ] && kill -0 "$builds_pid" 2>/dev/null; do sleep 2; done
    cat ".tmp/bed-$name.build-messages" >&2 2>/dev/null || true
  fi
  if ! bed_is_chroot "$name"; then
    bash scripts/run-suite.sh "$name" "${args[@]}" && outcome[$name]=ran || { outcome[$name]=ran; status=1; }
  elif [ "$(cat ".tmp/bed-$name.build-status" 2>/dev/null)" != 0 ]; then
    # bed-build.sh's last word names the step that failed; its log has the rest.
    outcome[$name]="could not be built: $(tail -n 1 ".tmp/bed-$name.build-messages" | sed 's/^test bed [a-z]*: //; s/ (last lines of .*//')"
    status=1
  else
    bash scripts/bed-run.sh "$name" bash scripts/run-suite.sh "$name" "${args[@]}" && outcome[$name]=ran || { outcome[$name]=ran; status=1; }
  fi
  seconds[$name]=$(($(date +%s) - started))
done

minutes() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }
echo
for name in "${beds[@]}"; do
  versions=".tmp/bed-$name.versions"
  nix=$(sed -n 's/^nix=//p' "$versions" 2>/dev/null || true)
  calamares=$(sed -n 's/^calamares=//p' "$versions" 2>/dev/null || true)
  if [ "${outcome[$name]}" != ran ]; then
    result="${outcome[$name]}"
  elif [ -f ".tmp/bed-$name.stalled" ]; then
    result=$(sed '1s/^test bed [^:]*: //' ".tmp/bed-$name.stalled")
  elif [ -f ".tmp/vitest-$name.json" ]; then
    result=$(node scripts/test-summary.mjs --skipped ".tmp/vitest-$name.json" || echo "unreadable report .tmp/vitest-$name.json")
  else
    result="no report (vitest did not finish)"
  fi
  # The first line is the counts; any further lines (skipped tests and why) follow the bed's line.
  printf '%-8s Nix %-6s Calamares %-6s %s (%s)\n' "$name" "${nix:-?}" "${calamares:-?}" "${result%%$'\n'*}" "$(minutes "${seconds[$name]}")"
  [ "$result" = "${result%%$'\n'*}" ] || printf '%s\n' "${result#*$'\n'}"
done
# Wall time: the beds' builds overlap the runs, so it is less than the sum above.
echo "all beds: $(minutes $(($(date +%s) - all_started)))"
# All beds together, alone on the last line; a bed without a report counts as a failure.
reports=()
for name in "${beds[@]}"; do reports+=(".tmp/vitest-$name.json"); done
echo
node scripts/test-summary.mjs "${reports[@]}"
exit "$status"
