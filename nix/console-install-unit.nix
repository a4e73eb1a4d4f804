# A boot unit that installs from a console (nix/unattended.nix: an answer
# file; nix/netboot.nix: a fleet's seed): it takes PARAM's value from the kernel
# command line, waits for the daemon's socket, says what will be erased, then
# runs `nixos-offline-installer install FLAG <value>` on TTY. It is only a
# client of the daemon's socket, and sandboxed as one.
# what: the value's kind in the error ("path"); example: a whole example value;
# after, wants: units besides the daemon and the console's getty; extraServiceConfig: added as is.
{ param, socket, tty, description, path, what, example, banner, warning, flag, after ? [ ], wants ? [ ], extraServiceConfig ? { } }:
{
  inherit description path wants;
  wantedBy = [ "multi-user.target" ];
  requires = [ "nixos-offline-installer.service" ];
  after = [ "nixos-offline-installer.service" "getty@${tty}.service" ] ++ after;
  # The console is this unit's while it runs.
  conflicts = [ "getty@${tty}.service" ];
  unitConfig.ConditionKernelCommandLine = param;
  # Never run again by a configuration switch: it erases a disk.
  restartIfChanged = false;
  environment.NOI_SOCKET = socket;
  script = ''
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
  '';
  serviceConfig = {
    # Simple, not oneshot: multi-user.target must not wait for a whole install.
    Type = "simple";
    # A failed install is reported on the console (and in the daemon's log, and to a fleet's seed); repeating
    # it would erase the disk again.
    Restart = "no";
    StandardInput = "tty";
    StandardOutput = "tty";
    StandardError = "tty";
    TTYPath = "/dev/${tty}";
    # A clean console (the getty's state reset, its session hung up); not deallocated at the end, so the result stays on screen.
    TTYReset = true;
    TTYVHangup = true;
    # Only a client of the daemon's socket (which does the disk and network work): no capabilities, nothing
    # writable (connecting to a socket is not a write to its file system), no network of its own.
    CapabilityBoundingSet = "";
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateNetwork = true;
    RestrictAddressFamilies = [ "AF_UNIX" ];
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    SystemCallArchitectures = "native";
  } // extraServiceConfig;
}
