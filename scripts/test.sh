#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs every test: unit tests and
# the end-to-end installs on real Nix in a network namespace with no interfaces.
# Needs root (unshare --net, a Nix store in /nix, a root-owned target).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node22.sh
mkdir -p .tmp
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.tmp/vitest.json "$@" || status=$?
node scripts/test-summary.mjs .tmp/vitest.json || true
exit "$status"
