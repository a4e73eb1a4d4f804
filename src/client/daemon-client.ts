// A client of the daemon's socket, used by the CLI and the tests: sends
// requests, matches replies to them by id, and hands on the daemon's events.
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { IPCModule, type IPCClient } from 'node-ipc';
import { configureIpc } from '../protocol/ipc-config.js';
import { MAX_CONNECTIONS, MAX_CONNECTIONS_PER_USER, MAX_MESSAGE_BYTES } from '../protocol/limits.js';
import { PROTOCOL_VERSION, type EventMap, type ReplyEvent, type RequestMap } from '../protocol/messages.js';
import { isEventType, type EventType, type RequestType } from '../protocol/vocabularies.js';
import { rootSocketPath } from '../protocol/socket-path.js';

const SERVICE = 'nixos-offline-installer';

export class DaemonUnavailable extends Error {
  override name = 'DaemonUnavailable';
}
export class RequestTooLarge extends Error {}

type Fields<T extends RequestType> = Omit<RequestMap[T], 'v' | 'id'>;
type Handler<T extends EventType> = (event: EventMap[T]) => void;

export class DaemonClient {
  private readonly pending = new Map<string, (reply: ReplyEvent) => void>();
  private readonly handlers = new Map<string, Set<(event: never) => void>>();
  private closedListeners: (() => void)[] = [];
  private closed = false;
  private counter = 0;

  private constructor(
    private readonly ipc: IPCModule,
    private readonly connection: IPCClient,
  ) {
    connection.on('*', (type: string, data: unknown) => {
      if (!isEventType(type)) return;
      if (type === 'reply') {
        const reply = data as ReplyEvent;
        const resolve = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        resolve?.(reply);
      }
      for (const handler of this.handlers.get(type) ?? []) handler(data as never);
    });
    connection.on('destroy', () => this.markClosed());
  }

  // Root connects through root's own socket beside SOCKET_PATH when there is one (the group's may be full).
  static async connect(socketPath: string, timeoutMs = 5000): Promise<DaemonClient> {
    const rootSocket = rootSocketPath(socketPath);
    if (process.getuid?.() === 0 && lstatSync(rootSocket, { throwIfNoEntry: false })?.isSocket()) {
      try {
        return await DaemonClient.connectTo(rootSocket, timeoutMs);
      } catch {
        // An older daemon, or a stale socket: the group's socket still answers root.
      }
    }
    return DaemonClient.connectTo(socketPath, timeoutMs);
  }

  private static connectTo(socketPath: string, timeoutMs: number): Promise<DaemonClient> {
    const ipc = new IPCModule();
    configureIpc(ipc, `${SERVICE}-client-${randomBytes(4).toString('hex')}`);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        ipc.disconnect(SERVICE);
        reject(new DaemonUnavailable(why));
      };
      const timer = setTimeout(() => fail(`the daemon did not answer on ${socketPath} within ${timeoutMs} ms`), timeoutMs);
      ipc.connectTo(SERVICE, socketPath);
      const connection = ipc.of[SERVICE]!;
      connection.on('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new DaemonClient(ipc, connection));
      });
      connection.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
            ? `the installer daemon is not running (nothing listens on ${socketPath}). Start it with: systemctl start nixos-offline-installer (and see systemctl status nixos-offline-installer)`
            : error.code === 'EACCES'
              ? `permission denied on ${socketPath}: run as root or as a member of the installer's socket group`
              : `cannot connect to ${socketPath}: ${error.message}`;
        fail(why);
      });
    });
  }

  on<T extends EventType>(type: T, handler: Handler<T>): this {
    const set = this.handlers.get(type) ?? new Set();
    set.add(handler as (event: never) => void);
    this.handlers.set(type, set);
    return this;
  }

  // Resolves when the daemon closes the connection (e.g. it stopped or crashed).
  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closedListeners.push(listener);
  }

  request<T extends RequestType>(type: T, fields: Fields<T>): Promise<ReplyEvent> {
    if (this.closed) return Promise.reject(new DaemonUnavailable('the connection to the daemon is closed'));
    const id = `${type}-${++this.counter}`;
    // The daemon would close the connection on a frame over the limit; say so instead of sending it.
    const bytes = Buffer.byteLength(JSON.stringify({ type, data: { v: PROTOCOL_VERSION, id, ...fields } }));
    if (bytes >= MAX_MESSAGE_BYTES) return Promise.reject(new RequestTooLarge(`the ${type} request would be ${bytes} bytes; the protocol allows ${MAX_MESSAGE_BYTES}`));
    return new Promise((resolve, reject) => {
      const lost = () => reject(new DaemonUnavailable(`the daemon closed the connection before it answered: it takes ${MAX_CONNECTIONS} connections at once, ${MAX_CONNECTIONS_PER_USER} per user, so other clients may hold them all (close some, e.g. a status --watch), or it stopped (systemctl status nixos-offline-installer)`));
      this.closedListeners.push(lost);
      this.pending.set(id, (reply) => {
        this.closedListeners = this.closedListeners.filter((l) => l !== lost);
        resolve(reply);
      });
      this.connection.emit(type, { v: PROTOCOL_VERSION, id, ...fields });
    });
  }

  close(): void {
    this.ipc.disconnect(SERVICE);
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    const listeners = this.closedListeners;
    this.closedListeners = [];
    for (const listener of listeners) listener();
  }
}
