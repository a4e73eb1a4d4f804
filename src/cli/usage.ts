export const USAGE = `Usage: nixos-offline-installer <command> [options]

Commands:
  daemon     Serve installs on the socket (run as root, by systemd on the ISO)
  status     Show the active configuration folder and the install state
  validate   Check the active configuration against a user and desktop, offline
  install    Install the active configuration into a mounted target
  cancel     Cancel the running install

Client options (status, install, cancel):
  --socket PATH        Daemon socket (default: $NOI_SOCKET or /run/nixos-offline-installer/ipc.sock)
  --json               One JSON event per line instead of text
status:   --watch      Keep printing events until interrupted
install:  --root DIR   Mounted target root (required), --user NAME, --desktop ID
          --answers FILE  Unattended: partition, format and install the disk an answer file names
                          (install.json, or the folder holding it) instead of --root
validate: --user NAME, --desktop ID (a Calamares id: gnome, plasma6, xfce, ..., or "" for none)

Daemon options (each also read from the environment variable shown):
  --socket PATH          NOI_SOCKET        socket path
  --socket-group GROUP   NOI_SOCKET_GROUP  group allowed to use the socket (mode 0660)
  --config-dirs D[:D]    NOI_CONFIG_DIRS   configuration folders, first with configuration.nix wins
                                           (default /tmp/nix-cfg:/iso/nix-cfg)
  --nixos-expr FILE      NOI_NIXOS_EXPR    NixOS expression to build (default <nixpkgs/nixos>)
  --nixpkgs PATH         NOI_NIXPKGS       the ISO's nixpkgs, passed as -I nixpkgs=PATH
  --manifest FILE        NOI_MANIFEST      facts about the ISO's own configuration (made at ISO build)
  --log-dir DIR          NOI_LOG_DIR       install logs on the live system (default /var/log/nixos-offline-installer)
  --log-level LEVEL      NOI_LOG_LEVEL     fatal|error|warn|info|debug|trace (default info)
  --channel-profile P    NOI_CHANNEL_PROFILE  live channel profile copied to the target when present

Exit status: 0 success, 1 install or check failed, 2 usage error, 3 daemon unavailable,
4 request refused, 5 install cancelled.
`;

export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, refused: 4, cancelled: 5 } as const;

export class UsageError extends Error {}
