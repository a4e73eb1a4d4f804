# The script of a boot unit that installs from the console (nix/unattended.nix:
# an answer file; nix/netboot.nix: a fleet's seed): it takes PARAM's value from
# the kernel command line, waits for the daemon's socket, says what will be
# erased, then runs `nixos-offline-installer install FLAG <value>`.
# what: the value's kind in the error ("path"); example: a whole example value.
{ param, socket, what, example, banner, warning, flag }:
''
  set -f
  value=
  for word in $(cat /proc/cmdline); do
    case "$word" in
      ${param}=*) value="''${word#${param}=}" ;;
    esac
  done
  if [ -z "$value" ]; then
    echo "The kernel command line has ${param} but no ${what} (${param}=${example})."
    exit 2
  fi
  # The daemon starts in a fraction of a second; wait for its socket rather than fail.
  for _ in $(seq 1 150); do
    [ -S ${socket} ] && break
    sleep 0.2
  done
  echo
  echo "${banner} from $value"
  echo "${warning} Ctrl-C cancels."
  echo
  exec nixos-offline-installer install ${flag} "$value"
''
