// Who is on the other end of a connection to the daemon's socket: the
// credentials the kernel recorded when the client connected (SO_PEERCRED),
// read once, when the connection is accepted. They stay the connector's
// whatever process holds the socket later (a setuid-root program exec'd over
// it reads as its caller), and they do not depend on network namespaces.
// Node has no getsockopt: libc's is called through koffi (pinned exactly).
import type { Socket } from 'node:net';
import koffi from 'koffi';

export interface PeerCredentials {
  uid: number;
  gid: number;
  pid: number;
}

// <sys/socket.h> on Linux, every architecture Node runs on.
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetSockOpt = (fd: number, level: number, name: number, value: Record<string, number>, length: number[]) => number;
let getsockopt: GetSockOpt | null = null;

function loadGetsockopt(): GetSockOpt {
  if (getsockopt) return getsockopt;
  koffi.struct('noi_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
  const libc = koffi.load('libc.so.6');
  getsockopt = libc.func('int getsockopt(int fd, int level, int name, _Out_ noi_ucred *value, _Inout_ uint32_t *length)') as unknown as GetSockOpt;
  return getsockopt;
}

// The connection's peer credentials, or null when its descriptor is gone.
// Throws when they cannot be read at all (libc or koffi missing).
export function peerCredentials(socket: Socket): PeerCredentials | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  const value: Record<string, number> = {};
  const length = [12];
  if (loadGetsockopt()(fd, SOL_SOCKET, SO_PEERCRED, value, length) !== 0) return null;
  return { uid: value.uid!, gid: value.gid!, pid: value.pid! };
}
