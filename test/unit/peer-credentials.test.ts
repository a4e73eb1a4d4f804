// Who holds the other end of a connection, from this bed's real `ss -xn`
// (iproute2 differs between Debian 12, 13 and unstable) and /proc: real
// sockets, real processes under other uids (setpriv), and a socket whose
// name forges an ss line.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lookUpPeers, parseSsUnix, socketInode } from '../../src/daemon/peer-credentials.js';

const USER = 23456;

let dir: string;
let path: string;
let server: Server;
let accepted: Socket[];
const children: ChildProcess[] = [];
const clients: Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noi-peer-'));
  path = join(dir, 'ipc.sock');
  accepted = [];
  server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  // Other uids connect too.
  await chmod(dir, 0o755);
  await chmod(path, 0o666);
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const client of clients.splice(0)) client.destroy();
  for (const socket of accepted) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function nextAccepted(count: number): Promise<Socket> {
  const deadline = Date.now() + 10_000;
  while (accepted.length < count) {
    if (Date.now() > deadline) throw new Error(`no connection number ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return accepted[count - 1]!;
}

// Python (in every bed) connects to the socket, optionally from a socket bound
// to NAME (abstract: "@" and the rest, in no folder), optionally handing it to a child under another uid too; prints "ready"
// and holds the connection until killed.
const CLIENT = `
import os, socket, subprocess, sys, time
path, name, share = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX)
if name: s.bind(b'\\0' + name.encode())
s.connect(path)
if share:
    child = subprocess.Popen(['setpriv', '--reuid=' + share, '--regid=' + share, '--clear-groups', 'sleep', '300'], pass_fds=[s.fileno()])
    while not any(os.readlink('/proc/%d/fd/%s' % (child.pid, fd)).startswith('socket:') for fd in os.listdir('/proc/%d/fd' % child.pid)):
        time.sleep(0.01)
    print('shared', child.pid, flush=True)
print('ready', os.getpid(), flush=True)
time.sleep(300)
`;

async function pythonClient(options: { as?: number; name?: string; share?: number } = {}): Promise<{ pid: number; sharedWith: number | null }> {
  // Debian's own (python3 on PATH may be a shim other uids cannot run).
  const command = ['/usr/bin/python3', '-c', CLIENT, path, options.name ?? '', options.share ? String(options.share) : ''];
  const argv = options.as !== undefined ? ['setpriv', `--reuid=${options.as}`, `--regid=${options.as}`, '--clear-groups', ...command] : command;
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const deadline = Date.now() + 10_000;
  while (!/^ready \d+$/m.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`python client did not connect: ${out}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const shared = /^shared (\d+)$/m.exec(out);
  if (shared) children.push({ kill: () => process.kill(Number(shared[1]), 'SIGKILL') } as unknown as ChildProcess);
  return { pid: Number(/^ready (\d+)$/m.exec(out)![1]), sharedWith: shared ? Number(shared[1]) : null };
}

describe('parseSsUnix', () => {
  it('reads the accepted connections of one socket path from ss -xn output, as iproute2 6.1 to 7.3 print it', () => {
    const p = '/run/nixos-offline-installer/ipc.sock';
    const output = [
      'Netid State Recv-Q Send-Q                        Local Address:Port    Peer Address:Port   Process',
      `u_str ESTAB 0      0      ${p} 2166560            * 2166559       `,
      'u_str ESTAB 0      0                             * 2166559            * 2166560       ',
      // A client bound to a name with spaces, digits and a star: its own line, not ours.
      'u_str ESTAB 0      0      /tmp/peer t 12 * 34.sock 2166561            * 2166562',
      `u_str ESTAB 0      0      ${p} 2166562 * 2166561`,
      // Another socket whose path starts like ours.
      `u_str ESTAB 0      0      ${p}.old 2166570 * 2166571`,
      // Read from /proc/net/unix (no sock_diag): no peer.
      `u_str ESTAB 0      0      ${p} 2166580 * 0`,
      `u_str LISTEN 0     4096   ${p} 2166500 * 0`,
    ].join('\n');
    expect([...parseSsUnix(output, p)]).toEqual([
      [2166560, 2166559],
      [2166562, 2166561],
    ]);
  });

  it('drops a connection that appears twice (a forged line in a socket name)', () => {
    const p = '/tmp/x/ipc.sock';
    const output = [`u_str ESTAB 0 0 ${p} 100 * 99`, 'u_str ESTAB 0 0 /tmp/evil', `u_str ESTAB 0 0 ${p} 100 * 5 200 * 201`, `u_str ESTAB 0 0 ${p} 201 * 200`].join('\n');
    expect([...parseSsUnix(output, p)]).toEqual([[201, 200]]);
  });
});

describe("this bed's ss and /proc", () => {
  it("pairs each accepted connection with its peer's inode, as fstat sees both", async () => {
    const client = createConnection(path);
    clients.push(client);
    await new Promise((resolve) => client.once('connect', resolve));
    const mine = await nextAccepted(1);
    await pythonClient({ name: 'peer t 12 * 34.sock' });
    const spaced = await nextAccepted(2);
    const output = execFileSync('ss', ['-xn'], { encoding: 'utf8' });
    const pairs = parseSsUnix(output, path);
    expect(pairs.get(socketInode(mine)!)).toBe(socketInode(client));
    expect(pairs.has(socketInode(spaced)!)).toBe(true);
    expect(pairs.size).toBe(2);
  });

  it('names the uid and pid holding each peer: root here, a user in a child, a socket shared by root and a user counts as the user', async () => {
    const client = createConnection(path);
    clients.push(client);
    await new Promise((resolve) => client.once('connect', resolve));
    const user = await pythonClient({ as: USER });
    const shared = await pythonClient({ share: USER + 1 });
    const inodes = [1, 2, 3].map(() => 0);
    for (let i = 0; i < 3; i++) inodes[i] = socketInode(await nextAccepted(i + 1))!;
    const { peers, problem } = await lookUpPeers(path, inodes);
    expect(problem).toBeNull();
    expect(peers.get(inodes[0]!)).toEqual({ uid: 0, pid: process.pid });
    expect(peers.get(inodes[1]!)).toEqual({ uid: USER, pid: user.pid });
    expect(peers.get(inodes[2]!)).toEqual({ uid: USER + 1, pid: shared.sharedWith });
  });

  it("never credits a forged ss line: a socket named with a newline and a line claiming root's peer for another's connection", async () => {
    await pythonClient({ as: USER });
    const victim = socketInode(await nextAccepted(1))!;
    const rootClient = createConnection(path);
    clients.push(rootClient);
    await new Promise((resolve) => rootClient.once('connect', resolve));
    await nextAccepted(2);
    // The user's second connection, from a socket whose name forges "victim's peer is root's socket".
    await pythonClient({ as: USER, name: `x\nu_str ESTAB 0 0 ${path} ${victim} * ${socketInode(rootClient)}` });
    const output = execFileSync('ss', ['-xn'], { encoding: 'utf8' });
    const forgedLine = output.split('\n').some((line) => line.startsWith(`u_str ESTAB 0 0 ${path} ${victim} `));
    const { peers } = await lookUpPeers(path, [victim]);
    // ss prints the name as it is (then the connection is unknown) or escapes it (then its real peer is found); never root's.
    if (forgedLine) expect(peers.get(victim)).toBeNull();
    else expect(peers.get(victim)).toMatchObject({ uid: USER });
  });

  it('says why when ss is missing, and knows no peer', async () => {
    const client = createConnection(path);
    clients.push(client);
    await new Promise((resolve) => client.once('connect', resolve));
    const inode = socketInode(await nextAccepted(1))!;
    const saved = process.env.PATH;
    process.env.PATH = join(dir, 'nothing');
    try {
      const { peers, problem } = await lookUpPeers(path, [inode]);
      expect(problem).toMatch(/ss could not be started .*iproute2/);
      expect(peers.get(inode)).toBeNull();
    } finally {
      process.env.PATH = saved;
    }
  });

  it('says why when ss lists no peers (without sock_diag it reads /proc/net/unix, which has none)', async () => {
    const client = createConnection(path);
    clients.push(client);
    await new Promise((resolve) => client.once('connect', resolve));
    const inode = socketInode(await nextAccepted(1))!;
    // PROC_ROOT makes ss read /proc instead of asking sock_diag, as a refused netlink socket does.
    process.env.PROC_ROOT = '/proc';
    try {
      const { peers, problem } = await lookUpPeers(path, [inode]);
      expect(problem).toMatch(/without their peers.*allow AF_NETLINK/);
      expect(peers.get(inode)).toBeNull();
    } finally {
      delete process.env.PROC_ROOT;
    }
  });
});
