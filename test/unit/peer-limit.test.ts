// The per-user limit with real sockets and the real SO_PEERCRED: each
// connection is judged once, as it is accepted, by who connected; root's
// connections on this socket count like anyone's (root has its own socket).
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { peerCredentials } from '../../src/daemon/peer-credentials.js';
import { PER_USER_CONNECTIONS, PeerLimit } from '../../src/daemon/peer-limit.js';

let dir: string;
let server: Server;
let limit: PeerLimit;
const accepted: Socket[] = [];
const clients: Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noi-peer-limit-'));
  limit = new PeerLimit(pino({ level: 'silent' }));
  server = createServer((socket) => {
    accepted.push(socket);
    limit.added(socket);
    socket.on('close', () => limit.removed(socket));
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'ipc.sock'), resolve));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  accepted.splice(0);
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function connect(count: number): Promise<Socket[]> {
  const made = Array.from({ length: count }, () => createConnection(join(dir, 'ipc.sock')));
  clients.push(...made);
  await Promise.all(made.map((c) => new Promise((resolve) => c.once('connect', resolve))));
  await new Promise((r) => setTimeout(r, 50));
  return made;
}

it("reads the connecting process's uid, gid and pid", async () => {
  await connect(1);
  expect(peerCredentials(accepted[0]!)).toEqual({ uid: process.getuid!(), gid: process.getgid!(), pid: process.pid });
});

it(`closes root's connection number ${PER_USER_CONNECTIONS + 1} on this socket, and takes one again once one is closed`, async () => {
  await connect(PER_USER_CONNECTIONS + 2);
  expect(accepted.filter((s) => s.destroyed)).toHaveLength(2);
  expect(accepted.slice(0, PER_USER_CONNECTIONS).every((s) => !s.destroyed)).toBe(true);
  clients[0]!.destroy();
  await new Promise((r) => setTimeout(r, 50));
  await connect(1);
  expect(accepted.at(-1)!.destroyed).toBe(false);
});
