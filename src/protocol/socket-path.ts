import { INSTALLER_DEFAULTS } from './installer-defaults.js';

// Where the daemon listens.
export const DEFAULT_SOCKET_PATH = INSTALLER_DEFAULTS.daemon.socket;

// Root's own socket beside the group's (0600): connections of the socket
// group, however many, never shut root's CLI out.
export function rootSocketPath(socket: string): string {
  const slash = socket.lastIndexOf('/');
  return `${socket.slice(0, slash + 1)}root-${socket.slice(slash + 1)}`;
}
