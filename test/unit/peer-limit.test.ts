// When the per-user limit looks up peers: never while a normal session's few
// connections are open (no process spawned), one lookup at a time for a
// burst; with the real lookup (ss, /proc) and real sockets.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { lookUpPeers } from '../../src/daemon/peer-credentials.js';
import { PER_USER_CONNECTIONS, PeerLimit } from '../../src/daemon/peer-limit.js';

let dir: string;
let server: Server;
let limit: PeerLimit;
let lookups: number[];
let running = 0;
let overlapped = false;
const clients: Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noi-peer-limit-'));
  const path = join(dir, 'ipc.sock');
  lookups = [];
  limit = new PeerLimit(path, pino({ level: 'silent' }), PER_USER_CONNECTIONS, async (inodes) => {
    if (running > 0) overlapped = true;
    running++;
    lookups.push(inodes.length);
    try {
      return await lookUpPeers(path, inodes);
    } finally {
      running--;
    }
  });
  server = createServer((socket) => {
    limit.added(socket);
    socket.on('close', () => limit.removed(socket));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function connect(count: number): Promise<Socket[]> {
  const made = Array.from({ length: count }, () => createConnection(join(dir, 'ipc.sock')));
  clients.push(...made);
  await Promise.all(made.map((c) => new Promise((resolve) => c.once('connect', resolve))));
  return made;
}

it(`looks nobody up while at most ${PER_USER_CONNECTIONS} connections are open, then once at a time for a burst; root is never limited`, async () => {
  await connect(PER_USER_CONNECTIONS);
  await new Promise((r) => setTimeout(r, 100));
  expect(lookups).toEqual([]);

  const burst = await connect(20);
  await new Promise((r) => setTimeout(r, 200));
  await limit.settled();
  // The first connection over starts a lookup; the rest of the burst shares at most a few more.
  expect(lookups.length).toBeGreaterThanOrEqual(1);
  expect(lookups.length).toBeLessThanOrEqual(5);
  expect(overlapped).toBe(false);
  // Known peers are not looked up again: every connection was asked about once, at most.
  expect(lookups.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(PER_USER_CONNECTIONS + 20);
  // All are this process's, root's: none closed.
  expect([...clients, ...burst].filter((c) => c.destroyed)).toEqual([]);
});
