// At most PER_USER_CONNECTIONS connections per user on the socket group's
// socket (issue 20 finding 9, issue 25 finding 2): a group member holding
// watching connections (which the idle timeout does not close) must not take
// every slot and keep Calamares out. The user is the one who connected
// (SO_PEERCRED, peer-credentials.ts), judged once, when the connection is
// accepted. root is limited here too: root has its own socket.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { MAX_CONNECTIONS_PER_USER } from '../protocol/limits.js';
import { peerCredentials, type PeerCredentials } from './peer-credentials.js';

// A session needs Calamares' one connection, a CLI or two and a few status
// watchers; why 8 of the socket's 32: protocol/limits.ts.
export const PER_USER_CONNECTIONS = MAX_CONNECTIONS_PER_USER;

export class PeerLimit {
  // Open connections by the uid that made them (null: unknown, all such count as one user).
  private readonly byUser = new Map<number | null, Set<Socket>>();
  private readonly users = new WeakMap<Socket, number | null>();
  private warned = false;

  constructor(
    private readonly logger: Logger,
    private readonly limit = PER_USER_CONNECTIONS,
    private readonly credentials: (socket: Socket) => PeerCredentials | null = peerCredentials,
  ) {}

  // Counts SOCKET for its user, or closes it when that user already holds the limit. False: closed.
  added(socket: Socket): boolean {
    let peer: PeerCredentials | null = null;
    try {
      peer = this.credentials(socket);
    } catch (error) {
      if (!this.warned) this.logger.error({ err: error }, 'cannot read who a connection is (SO_PEERCRED); such connections count as one user');
      this.warned = true;
    }
    const uid = peer?.uid ?? null;
    const open = this.byUser.get(uid) ?? new Set<Socket>();
    if (open.size >= this.limit) {
      // The newest goes: the user's first connections (Calamares' own, usually) keep working.
      this.logger.warn({ uid, peerPid: peer?.pid ?? null, count: open.size + 1, limit: this.limit }, "closed a connection over its user's limit");
      socket.destroy();
      return false;
    }
    open.add(socket);
    this.byUser.set(uid, open);
    this.users.set(socket, uid);
    return true;
  }

  removed(socket: Socket): void {
    if (!this.users.has(socket)) return;
    const uid = this.users.get(socket)!;
    const open = this.byUser.get(uid);
    open?.delete(socket);
    if (open?.size === 0) this.byUser.delete(uid);
    this.users.delete(socket);
  }
}
