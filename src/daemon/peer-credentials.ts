// Who is on the other end of a connection to the daemon's socket. Node cannot
// call getsockopt(SO_PEERCRED), so: `ss -xn` (sock_diag) pairs each accepted
// socket's inode with its peer socket's inode, the process holding the peer
// socket is found in /proc/*/fd (as `ss -p` does), and its uid in
// /proc/PID/status. SO_PEERCRED would give the peer's credentials when it
// connected; this gives those of whoever holds the peer socket now (the same,
// unless the socket was handed on or its holder changed uid since).
// sock_diag lists a connection in its client's network namespace (the kernel
// makes the accepted socket there), so a client in another namespace than the
// daemon's stays unknown.
import { fstatSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { runChild } from '../process/run-child.js';

export interface PeerCredentials {
  uid: number;
  pid: number;
}

// One line per Unix socket of the machine: a live ISO has a few thousand at most.
const MAX_SS_LINES = 100_000;
// ss answers in milliseconds; one that hangs must not hold up the next lookup.
const SS_TIMEOUT_MS = 5_000;

// The kernel inode of a connection's own socket (what ss and /proc/PID/fd
// name it by), or null once it is closed. Read at accept time, while its
// descriptor is surely this socket's.
export function socketInode(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    return fstatSync(fd).ino;
  } catch {
    return null;
  }
}

// Reads `ss -xn` lines (Netid State Recv-Q Send-Q, the local address and
// inode, the peer's address and inode) of the sockets whose local address is
// PATH (accepted connections carry the listening socket's path) into local
// inode -> peer inode. Addresses may hold spaces, and any user can name a
// socket of theirs with a newline and a forged line in it: a local inode seen
// on two lines is therefore dropped (its peer is not known), and a peer inode
// of 0 (ss reading /proc/net/unix, which has no peers) is left out.
export class SsUnixParser {
  private readonly peers = new Map<number, number>();
  private readonly forged = new Set<number>();
  // Connections ss listed with no peer.
  readonly unpaired = new Set<number>();

  constructor(private readonly path: string) {}

  line(line: string): void {
    const fields = /^u_\w+\s+\S+\s+\d+\s+\d+\s+(.*)$/.exec(line);
    if (!fields) return;
    const address = fields[1]!.trimStart();
    if (!address.startsWith(`${this.path} `)) return;
    const rest = address.slice(this.path.length).trim().split(/\s+/);
    // The local inode, the peer's address (any text, usually "*"), the peer's inode.
    if (rest.length < 3 || !/^\d+$/.test(rest[0]!) || !/^\d+$/.test(rest.at(-1)!)) return;
    const local = Number(rest[0]);
    const peer = Number(rest.at(-1));
    if (this.peers.has(local) || this.forged.has(local)) {
      this.peers.delete(local);
      this.forged.add(local);
      return;
    }
    if (peer !== 0) this.peers.set(local, peer);
    else this.unpaired.add(local);
  }

  result(): Map<number, number> {
    return this.peers;
  }
}

export function parseSsUnix(output: string, path: string): Map<number, number> {
  const parser = new SsUnixParser(path);
  for (const line of output.split('\n')) parser.line(line);
  return parser.result();
}

// Local inode -> peer inode for the connections accepted on PATH, from one `ss -xn` run; empty when ss fails.
async function peerInodes(path: string, inodes: readonly number[]): Promise<{ peers: Map<number, number>; problem: string | null }> {
  const parser = new SsUnixParser(path);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), SS_TIMEOUT_MS);
  let lines = 0;
  let stderr = '';
  try {
    const result = await runChild({
      file: 'ss',
      args: ['-xn'],
      signal: abort.signal,
      onLine: (line, stream) => {
        if (stream === 'stderr') {
          if (stderr.length < 1024) stderr += `${line}\n`;
          return;
        }
        if (++lines > MAX_SS_LINES) abort.abort();
        else parser.line(line);
      },
    });
    if (result.spawnError) return { peers: new Map(), problem: `ss could not be started (${result.spawnError.split(`\n`)[0]}); it comes with iproute2` };
    if (result.cancelled) return { peers: new Map(), problem: lines > MAX_SS_LINES ? `ss -xn listed more than ${MAX_SS_LINES} sockets` : `ss -xn took more than ${SS_TIMEOUT_MS} ms` };
    if (result.exitCode !== 0) return { peers: new Map(), problem: `ss -xn failed (exit ${result.exitCode ?? result.signal}): ${stderr.trim().slice(0, 300)}` };
    // ss falls back on /proc/net/unix, which has no peers, when it may not open a netlink socket.
    if (inodes.some((inode) => parser.unpaired.has(inode))) return { peers: parser.result(), problem: 'ss -xn listed connections without their peers: it may not open a netlink socket (sock_diag), so it read /proc/net/unix; allow AF_NETLINK' };
    const unlisted = inodes.filter((inode) => !parser.result().has(inode) && !parser.unpaired.has(inode)).length;
    // Usually a client that has just gone; many mean clients in another network namespace.
    if (unlisted > 0) return { peers: parser.result(), problem: `ss -xn did not list ${unlisted} of ${inodes.length} connections: closed meanwhile, or their clients are in another network namespace` };
    return { peers: parser.result(), problem: null };
  } finally {
    clearTimeout(timer);
  }
}

// A process's descriptors: what they point to ("socket:[123]"); none once it has ended.
function links(pid: string): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  return fds.map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
}

// The processes holding each of WANTED (socket inodes), from every process's
// /proc/PID/fd. Read synchronously, one process at a time with the event loop
// let go in between: a few thousand async readlinks took twice as long here,
// and one process's descriptors take well under a millisecond.
async function holders(wanted: ReadonlySet<number>): Promise<Map<number, number[]>> {
  const found = new Map<number, number[]>();
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  for (const [index, pid] of pids.entries()) {
    if (index % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    for (const link of links(pid)) {
      const inode = /^socket:\[(\d+)\]$/.exec(link);
      if (!inode || !wanted.has(Number(inode[1]))) continue;
      const list = found.get(Number(inode[1])) ?? [];
      if (!list.includes(Number(pid))) list.push(Number(pid));
      found.set(Number(inode[1]), list);
    }
  }
  return found;
}

// The effective uid (what SO_PEERCRED reports) from /proc/PID/status ("Uid: real effective saved fs").
async function effectiveUid(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const uid = status && /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  return uid ? Number(uid[1]) : null;
}

export interface PeerLookup {
  peers: Map<number, PeerCredentials | null>;
  // Why some or all peers are unknown (ss missing or failing, connections it did not list), else null.
  problem: string | null;
}

// For each of INODES (connections accepted on PATH, see socketInode) the
// credentials of its peer, or null when unknown. A peer socket several
// processes hold (inherited by a child) counts as root's only when all of
// them are root: a user cannot borrow root's standing by handing a socket to
// a root process, nor escape the limit by sharing one with root.
export async function lookUpPeers(path: string, inodes: readonly number[]): Promise<PeerLookup> {
  const peers = new Map<number, PeerCredentials | null>(inodes.map((inode) => [inode, null]));
  const { peers: pairs, problem } = await peerInodes(path, inodes);
  const wanted = new Set(inodes.flatMap((inode) => (pairs.has(inode) ? [pairs.get(inode)!] : [])));
  if (wanted.size === 0) return { peers, problem };
  const held = await holders(wanted);
  for (const inode of inodes) {
    const peer = pairs.get(inode);
    const pids = (peer !== undefined && held.get(peer)) || [];
    const owners: PeerCredentials[] = [];
    for (const pid of pids.sort((a, b) => a - b)) {
      const uid = await effectiveUid(pid);
      if (uid !== null) owners.push({ uid, pid });
    }
    peers.set(inode, owners.find((owner) => owner.uid !== 0) ?? owners[0] ?? null);
  }
  return { peers, problem };
}
