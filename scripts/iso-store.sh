#!/usr/bin/env bash
# Runs COMMAND with /nix laid out as on the ISO (nixpkgs' iso-image.nix):
# the squashfs IMAGE (see iso-store-image.sh) at /nix/.ro-store, /nix/store an
# overlay of it whose writes go to a tmpfs (/nix/.rw-store), and a fresh Nix
# database in tmpfs loaded from the image's registration with
# `nix-store --load-db`, as the ISO's stage 2 does at boot. All of it in a
# private mount namespace, so this machine's own /nix is left as it was.
# With NIX_DAEMON_SOCKET_PATH set (run-suite.sh's eval-user nix-daemon), a
# nix-daemon of the namespace's own serves that store on a new socket, as the
# ISO's nix-daemon does; it is stopped when COMMAND ends.
#
#   iso-store.sh IMAGE -- COMMAND...
set -euo pipefail
image=$(realpath -e -- "${1:?usage: iso-store.sh IMAGE -- COMMAND...}")
[ "${2:-}" = -- ] || { echo "usage: iso-store.sh IMAGE -- COMMAND..." >&2; exit 2; }
shift 2
if [ "${ISO_STORE_INSIDE:-}" != "$image" ]; then
  # In a test bed's chroot, / is no mount point (unshare cannot make it private: EINVAL), and
  # bed-chroot.sh's own namespace already made every mount private; elsewhere, private here.
  propagation=private
  mountpoint -q / || propagation=unchanged
  ISO_STORE_INSIDE=$image exec unshare --mount --propagation "$propagation" -- bash "$0" "$image" -- "$@"
fi
unset ISO_STORE_INSIDE

store_mode=$(stat -c %a /nix/store 2>/dev/null || echo 1775)
mount -t tmpfs -o mode=0755 iso-nix /nix
mkdir /nix/.ro-store /nix/.rw-store /nix/store
mount -t squashfs -o loop,ro -- "$image" /nix/.ro-store
# Read ahead as the ISO's stick or CD drive does (128 KiB), not the megabytes a loop device over a file
# may inherit: squashfs then hands the reader its bytes in bursts of that size.
loop=$(findmnt -no SOURCE /nix/.ro-store)
echo 128 >"/sys/block/${loop#/dev/}/queue/read_ahead_kb" || echo "iso-store.sh: could not set the read-ahead of $loop" >&2
mount -t tmpfs -o mode=0755 tmpfs /nix/.rw-store
mkdir /nix/.rw-store/store /nix/.rw-store/work
chmod "$store_mode" /nix/.rw-store/store
mount -t overlay overlay -o lowerdir=/nix/.ro-store,upperdir=/nix/.rw-store/store,workdir=/nix/.rw-store/work /nix/store
# The state folder first: without one, Nix as root would take run-suite.sh's nix-daemon (outside) for the store.
mkdir -p /nix/var/nix/db /nix/var/nix/gcroots /nix/var/nix/profiles
NIX_REMOTE=local nix-store --load-db </nix/store/nix-path-registration

daemon_pid=
if [ -n "${NIX_DAEMON_SOCKET_PATH:-}" ]; then
  daemon_dir=$(mktemp -d /tmp/noi-iso-nix-daemon-XXXXXX)
  chmod 755 "$daemon_dir"
  export NIX_DAEMON_SOCKET_PATH="$daemon_dir/socket"
  unshare --net -- nix-daemon >"$daemon_dir/log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do [ -S "$NIX_DAEMON_SOCKET_PATH" ] && break; sleep 0.1; done
  [ -S "$NIX_DAEMON_SOCKET_PATH" ] || { echo "nix-daemon did not start:" >&2; cat "$daemon_dir/log" >&2; exit 1; }
fi

"$@" &
child=$!
# A stop of this script is a stop of COMMAND; the nix-daemon goes after it.
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
status=0
while :; do
  wait "$child" && status=0 || status=$?
  kill -0 "$child" 2>/dev/null || break
done
if [ -n "$daemon_pid" ]; then
  kill "$daemon_pid" 2>/dev/null || true
  wait "$daemon_pid" 2>/dev/null || true
  rm -rf "$daemon_dir"
fi
exit "$status"
