#!/usr/bin/env bash
# Runs Debian's real Calamares on a sequence of exec jobs and exits when they
# are done (quit-at-end): headless, or in a window on the X display named by
# CALAMARES_DISPLAY (e.g. an Xvfb's ":99"). Part of the tests, so that a clean
# clone needs nothing outside the repository.
#
#   run.sh SEED.json MODULES_DIR JOB...
#
# SEED.json    globalstorage values the show-phase modules (users, partition,
#              packagechooser, ...) would have set; the seed-globalstorage job
#              inserts them before the first JOB runs
# MODULES_DIR  folder of module folders (module.desc + main.py + MODULE.conf)
# JOB          MODULE, or MODULE@ID:WEIGHT for an instance of MODULE configured
#              by MODULE-ID.conf (in MODULES_DIR/MODULE/) with that weight
#
# CALAMARES_SHOW=MODULE@ID=CONF adds a page after the jobs: that instance of a
# view module, configured by the file CONF (e.g. the choices page); Calamares
# then waits on it, for the caller to look at and end.
#
# Prints "session log: PATH" when Calamares starts, and the path alone last.
# Calamares exits 0 even when a job fails: the log says what happened.
set -euo pipefail
helpers=$(cd "$(dirname "$0")/modules" && pwd)
seed=$(realpath "$1")
modules=$(realpath "$2")
shift 2

config=$(mktemp -d)
cp -r /usr/share/calamares/branding /usr/share/calamares/qml "$config/"
mkdir -p "$config/modules"
jobs=()
instances=()
for job in "$@"; do
  module=${job%%@*}
  if [ "$job" != "$module" ]; then
    id=${job#*@}
    weight=${id#*:}
    id=${id%%:*}
    cp "$modules/$module/$module-$id.conf" "$config/modules/"
    instances+=("- { id: $id, module: $module, config: $module-$id.conf, weight: $weight }")
    jobs+=("$module@$id")
  else
    for conf in "$modules/$module.conf" "$modules/$module/$module.conf"; do
      if [ -f "$conf" ]; then cp "$conf" "$config/modules/"; fi
    done
    jobs+=("$module")
  fi
done
echo '---' > "$config/modules/finished.conf"
show=()
if [ -n "${CALAMARES_SHOW:-}" ]; then
  page=${CALAMARES_SHOW%%=*}
  conf=${CALAMARES_SHOW#*=}
  cp "$conf" "$config/modules/"
  instances+=("- { id: ${page#*@}, module: ${page%%@*}, config: $(basename "$conf") }")
  show+=("$page")
fi

{
  echo '---'
  echo "modules-search: [ $helpers, $modules, /usr/lib/x86_64-linux-gnu/calamares/modules ]"
  if [ "${#instances[@]}" -gt 0 ]; then
    echo 'instances:'
    printf '%s\n' "${instances[@]}"
  fi
  echo 'sequence:'
  echo '- exec:'
  echo '  - seed-globalstorage'
  for job in "${jobs[@]}"; do echo "  - $job"; done
  echo '- show:'
  for page in "${show[@]}"; do echo "  - $page"; done
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

# Qt with no display, or on the given one; a private runtime folder and home
# for Calamares' cache and session log.
if [ -n "${CALAMARES_DISPLAY:-}" ]; then
  export QT_QPA_PLATFORM=xcb DISPLAY="$CALAMARES_DISPLAY"
else
  export QT_QPA_PLATFORM=offscreen
fi
export QT_QUICK_BACKEND=software
export XDG_RUNTIME_DIR="$config/runtime" HOME="$config/home"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
mkdir -p "$HOME"
export SEED_GLOBALSTORAGE="$seed"
cd "$config"
echo "session log: $HOME/.cache/calamares/session.log"
timeout "${CALAMARES_TIMEOUT:-600}" calamares -d -D6 -c "$config" > "$config/stdout.log" 2>&1 || echo "calamares exited with $?" >&2
echo "$HOME/.cache/calamares/session.log"
