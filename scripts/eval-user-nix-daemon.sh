# Sourced by run-suite.sh and demo.sh: configurations are evaluated as an
# unprivileged eval user through nix-daemon, as on the ISO (README,
# "Security"). Makes that user (EVAL_USER), and starts a nix-daemon of this
# run's own on a private socket (other runs on this machine start theirs),
# with no network and no substituters, building as build users (nixbld*) as
# the ISO's does (no sandbox: the beds' chroots cannot give one). Nix finds it
# through NIX_DAEMON_SOCKET_PATH; the EXIT trap stops it and removes its
# folder, also after Ctrl-C or kill.
eval_user=${EVAL_USER:-noi-test-eval}
if ! id -u "$eval_user" >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$eval_user" 2>/dev/null || id -u "$eval_user" >/dev/null
fi
# Build users, as the ISO's nix-daemon has (nixbld group, nixbld1..4): what it
# builds for a client runs as one of them, never as root.
getent group nixbld >/dev/null || groupadd --system nixbld 2>/dev/null || getent group nixbld >/dev/null
for i in 1 2 3 4; do
  id -u "nixbld$i" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin --gid nixbld --groups nixbld "nixbld$i" 2>/dev/null || id -u "nixbld$i" >/dev/null
done
# A fresh machine or bed has no /nix until a local store operation makes one;
# without it, root's Nix (store "auto") would take the socket below for its store.
NIX_CONFIG=$'build-users-group =\nstore = local' nix-store --check-validity
[ -w /nix/var/nix/db ] || { echo "the local Nix store was not created: /nix/var/nix/db is missing or not writable" >&2; exit 1; }
nix_daemon_dir=$(mktemp -d /tmp/noi-nix-daemon-XXXXXX)
chmod 755 "$nix_daemon_dir"
export NIX_DAEMON_SOCKET_PATH="$nix_daemon_dir/socket"
# The store is named: "auto" finding no state folder but this socket would make
# the daemon a client of itself (a fresh bed stalled on that, forking without end).
NIX_CONFIG=$'build-users-group = nixbld\nsandbox = false\nsubstituters =\nstore = local' unshare --net -- nix-daemon >"$nix_daemon_dir/log" 2>&1 &
nix_daemon_pid=$!
# The caller's own cleanup (ON_EXIT, shell code) runs first.
trap 'eval "${ON_EXIT:-:}"; kill "$nix_daemon_pid" 2>/dev/null; wait "$nix_daemon_pid" 2>/dev/null; rm -rf "$nix_daemon_dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 100); do [ -S "$NIX_DAEMON_SOCKET_PATH" ] && break; sleep 0.1; done
[ -S "$NIX_DAEMON_SOCKET_PATH" ] || { echo "nix-daemon did not start:" >&2; cat "$nix_daemon_dir/log" >&2; exit 1; }
