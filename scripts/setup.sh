#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine (run as
# root): Debian's Nix (nix-bin) and Calamares, the tools the tests call, the pinned Node 22,
# and the project's dependencies exactly as package-lock.json pins them.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nix-build >/dev/null 2>&1 || need+=(nix-bin)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
command -v mkfifo >/dev/null 2>&1 || need+=(coreutils)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The real Calamares runs the job module headless in the tests.
command -v calamares >/dev/null 2>&1 || need+=(calamares)
# Unattended installs partition, format and encrypt real (loop) disks in the tests.
command -v sfdisk >/dev/null 2>&1 || need+=(fdisk)
command -v mkfs.vfat >/dev/null 2>&1 || need+=(dosfstools)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v cryptsetup >/dev/null 2>&1 || need+=(cryptsetup-bin)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

source scripts/node22.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # --ignore-scripts: no dependency runs code at install time (see README, "Supply chain").
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
npm run --silent build
