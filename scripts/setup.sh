#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine (run as
# root): Debian's Nix (nix-bin) and Calamares, the tools the tests call, the pinned Node 24,
# and the project's dependencies exactly as package-lock.json pins them.
set -euo pipefail
cd "$(dirname "$0")/.."

# The same packages as the test beds' (scripts/bed-packages.sh), so this
# machine is the bookworm bed. Nix or npm installed some other way count too.
source scripts/bed-packages.sh
need=()
for package in $(bed_packages bookworm); do
  case "$package" in
    nix-bin) command -v nix-build >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || need+=("$package")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

source scripts/node24.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # --ignore-scripts: no dependency runs code at install time (see README, "Supply chain").
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
npm run --silent build
# `nixos-offline-installer` on PATH, as README's "Using it" types it.
bash scripts/install-command.sh
