#!/usr/bin/env bash
# Runs the vitest suite on the machine it is started on (this one, or inside a
# test bed through bed-run.sh) and records, under .tmp/, the bed's Nix and
# Calamares versions and vitest's JSON report, which test.sh summarises.
#
#   run-suite.sh BEDNAME [vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
shift
mkdir -p .tmp
report=".tmp/vitest-$name.json"
rm -f "$report"
{
  echo "nix=$(nix-build --version 2>/dev/null | sed -n '1s/.* //p')"
  echo "calamares=$(dpkg-query -W -f '${Version}' calamares 2>/dev/null | sed 's/-[^-]*$//')"
} >".tmp/bed-$name.versions"

# The daemons the tests start evaluate configurations as the eval user through a nix-daemon of this run's.
source scripts/eval-user-nix-daemon.sh
export NOI_TEST_EVAL_USER="$eval_user"

# The tests' own Nix commands, as test/helpers/env.ts's NIX_CONFIG: offline, like everything the tests run.
export NIX_CONFIG=$'build-users-group =\nsandbox = false\nsubstituters ='

status=0
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
exit "$status"
