#!/usr/bin/env bash
# Demo: sets everything up, then installs the example configuration
# (test/fixtures/nix-cfg) into a scratch target through the real daemon and
# CLI, offline: the daemon runs in a network namespace with no interfaces.
# Real Nix builds and copies a small stand-in "system"; the nixos-install and
# nixos-generate-config stand-ins (test/stand-ins) replace the chroot and the
# hardware probe, which need a real NixOS target. Needs root.
#
#   bash scripts/demo.sh [CONFIG_DIR]     (default: test/fixtures/nix-cfg)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
config=$(realpath "${1:-test/fixtures/nix-cfg}")
bash scripts/setup.sh
source scripts/node24.sh

work=$(mktemp -d /tmp/noi-demo-XXXXXX)
chmod 755 "$work"
mkdir -m 755 "$work/root"
export PATH="$repo/test/stand-ins:$PATH"
# Debian's Nix as root without a daemon: no build users, no sandbox, no substituter (offline).
export NIX_CONFIG=$'build-users-group =\nsandbox = false\nsubstituters ='
# The configuration is evaluated as an unprivileged user through nix-daemon, as on the ISO.
ON_EXIT='if [ -n "${daemon:-}" ]; then kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true; fi'
source scripts/eval-user-nix-daemon.sh

unshare --net -- node dist/cli/main.js daemon \
  --socket "$work/ipc.sock" \
  --config-dirs "$work/tmp-nix-cfg:$config" \
  --nixos-expr "$repo/test/fixtures/nixos" \
  --log-dir "$work/logs" \
  --channel-profile "$work/no-channel" \
  --eval-user "$eval_user" --eval-home "$work/eval-home" \
  > "$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$work/ipc.sock" ] && break; sleep 0.1; done

node dist/cli/main.js status --socket "$work/ipc.sock"
echo
status=0
# The scratch root is a plain folder, not a mounted disk: said explicitly (Calamares never does).
node dist/cli/main.js install --socket "$work/ipc.sock" --root "$work/root" --allow-unmounted || status=$?
echo
echo "target root:    $work/root"
echo "  /etc/nixos:   $(ls "$work/root/etc/nixos" 2>/dev/null | tr '\n' ' ')"
echo "  profile:      $(readlink -f "$work/root/nix/var/nix/profiles/system" 2>/dev/null || echo none)"
echo "  install log:  $work/root/var/log/nixos-offline-installer/install.log"
echo "daemon journal: $work/daemon.log"
exit "$status"
