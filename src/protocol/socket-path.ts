// Where the daemon listens.
export const DEFAULT_SOCKET_PATH = '/run/nixos-offline-installer/ipc.sock';

// Root's own socket beside the group's (0600): connections of the socket
// group, however many, never shut root's CLI out.
export function rootSocketPath(socket: string): string {
  const slash = socket.lastIndexOf('/');
  return `${socket.slice(0, slash + 1)}root-${socket.slice(slash + 1)}`;
}
