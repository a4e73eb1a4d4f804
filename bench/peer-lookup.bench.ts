// 6. What one lookup of the per-user connection limit costs (src/daemon/
// peer-credentials.ts: one `ss -xn` run and a scan of every process's
// /proc/PID/fd) on a machine with about 300 processes, as a live GNOME ISO
// has; the daemon runs one only while more than 8 connections are open.
// Context figures, no goal: median of 15 lookups, and `ss -xn` alone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { lookUpPeers, socketInode } from '../src/daemon/peer-credentials.js';
import { PER_USER_CONNECTIONS } from '../src/daemon/peer-limit.js';
import { QUICK, median, record, timed } from './lib.js';

const PROCESSES = 300;
const RUNS = QUICK ? 3 : 15;

const processCount = () => readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
const fdCount = () =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .reduce((sum, pid) => {
      try {
        return sum + readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return sum;
      }
    }, 0);

it('peer lookup', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'noi-bench-peer-'));
  const path = join(dir, 'ipc.sock');
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  // Sleeping processes with three pipes each, up to about PROCESSES on the machine.
  const fillers: ChildProcess[] = [];
  const clients: Socket[] = [];
  try {
    for (let n = processCount(); n < PROCESSES; n++) fillers.push(spawn('sleep', ['600'], { stdio: 'pipe' }));
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i <= PER_USER_CONNECTIONS; i++) clients.push(createConnection(path));
    while (accepted.length <= PER_USER_CONNECTIONS) await new Promise((r) => setTimeout(r, 10));
    const inodes = accepted.map((socket) => socketInode(socket)!);
    const processes = processCount();
    const fds = fdCount();
    const sockets = execFileSync('ss', ['-xn'], { encoding: 'utf8' }).split('\n').length - 2;

    await lookUpPeers(path, inodes); // warm-up: loads execa
    const lookups: number[] = [];
    const ssAlone: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      lookups.push(
        await timed(async () => {
          const { peers } = await lookUpPeers(path, inodes);
          if ([...peers.values()].some((peer) => peer?.pid !== process.pid)) throw new Error('lookup did not find this process as the peer');
        }),
      );
      ssAlone.push(await timed(async () => execFileSync('ss', ['-xn'], { stdio: ['ignore', 'pipe', 'ignore'] })));
    }
    record(
      'peer-lookup',
      'Per-user connection limit: one peer lookup',
      [
        { name: `one lookup of ${inodes.length} connections, ${processes} processes, ${fds} descriptors, ${sockets} Unix sockets`, value: median(lookups), unit: 'ms', baseline: median(ssAlone), baselineLabel: '`ss -xn` alone, ms', goal: '-', met: null },
      ],
      [`lookups ms: ${lookups.map((t) => t.toFixed(1)).join(' ')}`, `ss -xn alone ms: ${ssAlone.map((t) => t.toFixed(1)).join(' ')}`],
    );
  } finally {
    for (const filler of fillers) filler.kill();
    for (const client of clients) client.destroy();
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
