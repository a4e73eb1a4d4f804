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
# Its QML pages (packagechooserq) and slideshow import these; Debian only
# recommends them, and without them Calamares warns that a page failed to load.
for pkg in qml-module-qtquick2 qml-module-qtquick-controls2 qml-module-qtquick-layouts qml-module-qtquick-window2; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
# The windowed test: Calamares on a virtual display, screenshots, OCR.
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v import >/dev/null 2>&1 || need+=(imagemagick)
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
compgen -G "/usr/share/tesseract-ocr/*/tessdata/eng.traineddata" >/dev/null || need+=(tesseract-ocr-eng)
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
