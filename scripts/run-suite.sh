#!/usr/bin/env bash
# Runs the vitest suite on the machine it is started on (this one, or inside a
# test bed through bed-run.sh) and records, under .tmp/, the bed's Nix and
# Calamares versions and vitest's JSON report, which test.sh summarises.
#
#   run-suite.sh BEDNAME [vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite runs on the ISO's Node (24), also when this script is run by hand from a shell on Node 20.
source scripts/node24.sh
name=$1
shift
mkdir -p .tmp
report=".tmp/vitest-$name.json"
rm -f "$report"
{
  echo "nix=$(nix-build --version 2>/dev/null | sed -n '1s/.* //p')"
  echo "calamares=$(dpkg-query -W -f '${Version}' calamares 2>/dev/null | sed 's/-[^-]*$//')"
} >".tmp/bed-$name.versions"

# Tests run the CLI from this checkout as other users (the socket group's
# members, strangers, and users in root's group, whose access the group bits
# decide): a checkout in a folder only root may enter (a `mktemp -d` clone,
# /root/x) gets search permission (g+x and o+x, no listing or reading) on the
# folders above it that lack it, and says so.
folder=$PWD
while [ "$folder" != / ]; do
  folder=$(dirname "$folder")
  if [ "$(stat -c %U "$folder")" = root ] && ! [ $(( $(stat -c '%#a' "$folder") & 9 )) -eq 9 ]; then
    echo "test bed $name: $folder gets g+x and o+x (search only), so the tests' other users can reach this checkout" >&2
    chmod go+x "$folder"
  fi
done

# The daemons the tests start evaluate configurations as the eval user through a nix-daemon of this run's.
source scripts/eval-user-nix-daemon.sh
export NOI_TEST_EVAL_USER="$eval_user"

# The tests' own Nix commands, as test/helpers/env.ts's NIX_CONFIG: offline, like everything the tests run.
export NIX_CONFIG=$'build-users-group =\nsandbox = false\nsubstituters ='

# A stalled suite fails within its deadline, naming the tests it was running,
# instead of running into CI's limit (90 minutes for all beds). Each test
# worker keeps what it runs in a file under $running (test/helpers/record-running-test.ts).
# 25 minutes is about twice the slowest bed's run (sid, ~13 min): with two
# beds stalled and the beds built afresh, CI still ends inside its limit.
deadline=${NOI_SUITE_DEADLINE:-25m}
running="$PWD/.tmp/running-$name"
stalled=".tmp/bed-$name.stalled"
rm -rf "$running" "$stalled"
mkdir -p "$running"
export NOI_RUNNING_TESTS_DIR="$running"

# timeout gives vitest and its workers a process group of their own and ends all
# of it; run in the background so Ctrl-C here reaches it (the EXIT trap passes it on).
timeout --kill-after=30 "$deadline" node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile="$report" "$@" &
suite_pid=$!
ON_EXIT='kill -TERM "$suite_pid" 2>/dev/null; wait "$suite_pid" 2>/dev/null'
status=0
wait "$suite_pid" || status=$?
ON_EXIT=
# timeout's own statuses: 124 after the deadline's TERM, 137 when KILL was needed.
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  {
    echo "test bed $name: stopped at the suite's deadline ($deadline, NOI_SUITE_DEADLINE); running then:"
    if compgen -G "$running/*" >/dev/null; then sed 's/^/  /' "$running"/*; else echo "  no test (vitest itself, between files)"; fi
  } >"$stalled"
  cat "$stalled" >&2
fi
rm -rf "$running"
exit "$status"
