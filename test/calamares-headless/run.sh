#!/usr/bin/env bash
# Runs Debian's real Calamares (3.2.x) with no display on a sequence of exec
# jobs, and exits when they are done (quit-at-end). Part of the tests, so that
# a clean clone needs nothing outside the repository.
#
#   run.sh SEED.json MODULES_DIR MODULE...
#
# SEED.json    globalstorage values the show-phase modules (users, partition,
#              packagechooser, ...) would have set; the seed-globalstorage job
#              inserts them before MODULE runs
# MODULES_DIR  folder of module folders (module.desc + main.py + MODULE.conf)
#
# Prints the session log's path last. Calamares exits 0 even when a job fails:
# the log says what happened.
set -euo pipefail
helpers=$(cd "$(dirname "$0")/modules" && pwd)
seed=$(realpath "$1")
modules=$(realpath "$2")
shift 2

config=$(mktemp -d)
cp -r /usr/share/calamares/branding /usr/share/calamares/qml "$config/"
mkdir -p "$config/modules"
for module in "$@"; do
  for conf in "$modules/$module.conf" "$modules/$module/$module.conf"; do
    if [ -f "$conf" ]; then cp "$conf" "$config/modules/"; fi
  done
done
echo '---' > "$config/modules/finished.conf"

{
  echo '---'
  echo "modules-search: [ $helpers, $modules, /usr/lib/x86_64-linux-gnu/calamares/modules ]"
  echo 'sequence:'
  echo '- exec:'
  echo '  - seed-globalstorage'
  for module in "$@"; do echo "  - $module"; done
  echo '- show:'
  echo '  - finished'
  echo 'branding: default'
  echo 'prompt-install: false'
  echo 'dont-chroot: true'
  echo 'quit-at-end: true'
  echo 'oem-setup: false'
  echo 'disable-cancel: false'
  echo 'disable-cancel-during-exec: false'
  echo 'hide-back-and-next-during-exec: false'
} > "$config/settings.conf"

# Qt with no display; a private runtime folder and home for Calamares' cache and session log.
export QT_QPA_PLATFORM=offscreen QT_QUICK_BACKEND=software
export XDG_RUNTIME_DIR="$config/runtime" HOME="$config/home"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
mkdir -p "$HOME"
export SEED_GLOBALSTORAGE="$seed"
cd "$config"
timeout "${CALAMARES_TIMEOUT:-600}" calamares -d -D6 -c "$config" > "$config/stdout.log" 2>&1 || echo "calamares exited with $?" >&2
echo "$HOME/.cache/calamares/session.log"
