// node-ipc settings shared by the daemon and every client: the guarded parser
// (frame size limit, no reserved or prototype event names, incomplete-frame
// timeout, bounded pending writes) with limits fitted to this protocol.
import type { IPCModule } from 'node-ipc';
import { MAX_CONNECTIONS, MAX_MESSAGE_BYTES, MAX_PENDING_BYTES, MESSAGE_TIMEOUT_MS } from './limits.js';

export function configureIpc(ipc: IPCModule, id: string): void {
  Object.assign(ipc.config, {
    id,
    parser: 'guarded',
    maxMessageSize: MAX_MESSAGE_BYTES,
    maxPendingBytes: MAX_PENDING_BYTES,
    messageTimeout: MESSAGE_TIMEOUT_MS,
    // Per socket; the daemon also limits each user on the group's (src/daemon/peer-limit.ts).
    maxConnections: MAX_CONNECTIONS,
    silent: true,
    maxRetries: 0,
    stopRetrying: true,
  });
}
