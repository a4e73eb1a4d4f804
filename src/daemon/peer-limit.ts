// At most PER_USER_CONNECTIONS connections per user on the socket group's
// socket (issue 20, finding 9): a group member holding watching connections
// (which the idle timeout does not close) must not take every slot and keep
// Calamares out. root is never limited. Who a peer is costs a process (ss) and
// a /proc scan (tens of ms with 300 processes: bench/peer-lookup.bench.ts),
// so it is asked only when some user could be over the limit
// (more than PER_USER_CONNECTIONS open at all), one lookup at a time: a burst
// of connections waits for the lookup running and then shares one more.
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { MAX_CONNECTIONS_PER_USER } from '../protocol/limits.js';
import { lookUpPeers, socketInode, type PeerCredentials, type PeerLookup } from './peer-credentials.js';

// A session needs Calamares' one connection, a CLI or two and a few status
// watchers; why 8 of the socket's 32: protocol/limits.ts.
export const PER_USER_CONNECTIONS = MAX_CONNECTIONS_PER_USER;

export type LookUp = (inodes: readonly number[]) => Promise<PeerLookup>;

export class PeerLimit {
  // Open connections in the order they came, with their socket's inode.
  private readonly open = new Map<Socket, number | null>();
  private readonly known = new WeakMap<Socket, PeerCredentials>();
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    path: string,
    private readonly logger: Logger,
    private readonly limit = PER_USER_CONNECTIONS,
    private readonly lookUp: LookUp = (inodes) => lookUpPeers(path, inodes),
  ) {}

  added(socket: Socket): void {
    this.open.set(socket, socketInode(socket));
    if (this.open.size > this.limit) this.check();
  }

  removed(socket: Socket): void {
    this.open.delete(socket);
  }

  // The lookup running now, if any (tests and stop wait for it).
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private check(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.enforce();
        } while (this.again && this.open.size > this.limit);
      } catch (error) {
        this.logger.error({ err: error }, 'could not check the connections per user');
      } finally {
        this.running = null;
      }
    })();
  }

  private async enforce(): Promise<void> {
    // Those that connect during the lookup are judged by the next one.
    const sockets = [...this.open];
    const unknown = sockets.filter(([socket, inode]) => inode !== null && !this.known.has(socket)).map(([, inode]) => inode!);
    if (unknown.length > 0) {
      const { peers, problem } = await this.lookUp(unknown);
      if (problem) this.logger.warn({ problem }, 'some connections could not be told apart by user; those count as one user');
      for (const [socket, inode] of sockets) {
        const peer = inode !== null ? peers.get(inode) : null;
        if (peer) this.known.set(socket, peer);
      }
    }
    // Unknown peers (null) count together as one user that is not root.
    const byUser = new Map<number | null, Socket[]>();
    for (const [socket] of sockets) {
      if (socket.destroyed || !this.open.has(socket)) continue;
      const uid = this.known.get(socket)?.uid ?? null;
      if (uid === 0) continue;
      byUser.set(uid, [...(byUser.get(uid) ?? []), socket]);
    }
    for (const [uid, list] of byUser) {
      // The newest go: the user's first connections (Calamares' own, usually) keep working.
      for (const socket of list.slice(this.limit)) {
        this.logger.warn({ uid, peerPid: this.known.get(socket)?.pid ?? null, count: list.length, limit: this.limit }, "closed a connection over its user's limit");
        socket.destroy();
      }
    }
  }
}
