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

# The daemons the tests start evaluate configurations as an unprivileged eval
# user through nix-daemon (README, "Security"): that user, and a nix-daemon of
# this run's own on a private socket (other runs on this machine start theirs),
# with no network and no substituters, building as root without a sandbox like
# the tests' own Nix. Nix finds it through NIX_DAEMON_SOCKET_PATH.
eval_user=noi-test-eval
if ! id -u "$eval_user" >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$eval_user" 2>/dev/null || id -u "$eval_user" >/dev/null
fi
nix_daemon_dir=$(mktemp -d /tmp/noi-nix-daemon-XXXXXX)
chmod 755 "$nix_daemon_dir"
export NIX_DAEMON_SOCKET_PATH="$nix_daemon_dir/socket" NOI_TEST_EVAL_USER="$eval_user"
NIX_CONFIG=$'build-users-group =\nsandbox = false\nsubstituters =' unshare --net -- nix-daemon >"$nix_daemon_dir/log" 2>&1 &
nix_daemon_pid=$!
trap 'kill "$nix_daemon_pid" 2>/dev/null; wait "$nix_daemon_pid" 2>/dev/null; rm -rf "$nix_daemon_dir"' EXIT
# Stopped (Ctrl-C, kill): the EXIT trap above still stops this run's nix-daemon and removes its folder.
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 100); do [ -S "$NIX_DAEMON_SOCKET_PATH" ] && break; sleep 0.1; done
[ -S "$NIX_DAEMON_SOCKET_PATH" ] || { echo "nix-daemon did not start:" >&2; cat "$nix_daemon_dir/log" >&2; exit 1; }

status=0
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
exit "$status"
