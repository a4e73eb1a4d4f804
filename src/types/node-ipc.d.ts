// node-ipc 14 ships no TypeScript declarations (@types/node-ipc describes 9.x).
// This covers only what the daemon and CLI use.
declare module 'node-ipc' {
  import type { Socket } from 'node:net';

  export interface IPCConfig {
    id: string;
    appspace: string;
    socketRoot: string;
    parser: 'raw' | 'fast' | 'guarded' | 'assured';
    maxMessageSize: number;
    maxPendingBytes: number;
    messageTimeout: number;
    maxConnections: number;
    unlink: boolean;
    secureSocketRoot: boolean;
    silent: boolean;
    retry: number;
    maxRetries: number | boolean;
    stopRetrying: boolean;
    logger: (...args: unknown[]) => void;
  }

  export interface IPCServer {
    on(type: '*', handler: (type: string, data: unknown, socket: Socket) => void): IPCServer;
    on(type: 'start', handler: () => void): IPCServer;
    on(type: string, handler: (...args: any[]) => void): IPCServer;
    emit(socket: Socket, type: string, data: unknown): boolean;
    start(): void;
    stop(): void;
    server: import('node:net').Server | false;
    sockets: Socket[];
  }

  export interface IPCClient {
    on(type: '*', handler: (type: string, data: unknown) => void): IPCClient;
    on(type: string, handler: (...args: any[]) => void): IPCClient;
    emit(type: string, data: unknown): boolean;
    socket: Socket | false;
  }

  export class IPCModule {
    config: IPCConfig;
    server: IPCServer;
    of: Record<string, IPCClient>;
    serve(path: string, callback?: () => void): void;
    connectTo(id: string, path: string, callback?: () => void): void;
    disconnect(id: string): void;
  }

  const singleton: IPCModule;
  export default singleton;
}
