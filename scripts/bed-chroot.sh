#!/usr/bin/env bash
# Runs a command chrooted into a bed folder with /proc, /sys, /dev and
# /dev/pts bind-mounted (Nix reads /proc/self/exe), a fresh /tmp, and the
# given host folders at the same absolute paths inside. Used by bed-build.sh
# (on the half-built bed) and bed-run.sh.
#
#   bed-chroot.sh ROOT [--tmp HOSTDIR] [--bind DIR]... [--cd DIR] [--env NAME=VALUE]... -- COMMAND...
#
# Everything is mounted in a private mount namespace (unshare --mount), so the
# mounts are invisible to the host and disappear with the last process using
# them, even after kill -9; the trap also unmounts them on any exit.
set -euo pipefail

if [ "${BED_CHROOT_NS:-}" != "$$" ]; then
  # Re-run in a new mount namespace; BED_CHROOT_NS marks the inner run (unshare execs, so $$ is kept).
  exec unshare --mount --propagation private -- env BED_CHROOT_NS=$$ bash "$0" "$@"
fi
unset BED_CHROOT_NS

root=$(realpath "$1")
shift
tmp=
binds=()
cwd=/
envs=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tmp) tmp=$2; shift 2 ;;
    --bind) binds+=("$(realpath "$2")"); shift 2 ;;
    --cd) cwd=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "bed-chroot.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$#" -gt 0 ] || { echo "bed-chroot.sh: no command given" >&2; exit 2; }

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[$i]}" 2>/dev/null || umount --lazy "${mounted[$i]}" || true
  done
  mounted=()
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bind() {
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounted+=("$2")
}

bind /proc "$root/proc"
bind /sys "$root/sys"
# The host's cgroup hierarchies, mounted below /sys (a plain bind leaves them out): the fleet bench accounts
# its seed's CPU and memory in a cgroup of its own. Unmounted lazily with the tree under it.
bind_tree() {
  mkdir -p "$2"
  mount --rbind "$1" "$2"
  mounted+=("$2")
}
if mountpoint -q /sys/fs/cgroup; then bind_tree /sys/fs/cgroup "$root/sys/fs/cgroup"; fi
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
# /tmp first: a repository cloned under /tmp is then bound inside it, not hidden by it.
if [ -n "$tmp" ]; then bind "$tmp" "$root/tmp"; fi
for dir in "${binds[@]}"; do bind "$dir" "$root$dir"; done

status=0
chroot "$root" /usr/bin/env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
  "${envs[@]}" \
  /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@" || status=$?
exit "$status"
