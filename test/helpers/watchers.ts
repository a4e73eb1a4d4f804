// A client holding several connections to a daemon's socket, each of which
// sends `status {watch: true}` (so the idle timeout leaves it open), as a plain
// protocol client would (frames ended by \f). Run as root or, through
// setpriv, as another user. It reports each reply and each closed connection
// as a JSON line; `ping()` sends another status on every connection still open.
import { spawn } from 'node:child_process';
import { asUser, type AsUser } from './cli.js';

const SCRIPT = `const net = require('node:net');
const path = process.argv[1], count = Number(process.argv[2]);
const conns = [];
const say = (o) => console.log(JSON.stringify(o));
const request = (i, data) => conns[i].write(JSON.stringify({ type: 'status', data: { v: 1, id: 'w' + i + '-' + Date.now(), ...data } }) + '\\f');
const open = (i) => new Promise((resolve) => {
  const s = net.connect(path);
  conns[i] = s;
  let buf = '';
  s.setEncoding('utf8');
  s.on('connect', () => request(i, { watch: true }));
  s.on('data', (d) => {
    buf += d;
    for (let at = buf.indexOf('\\f'); at >= 0; at = buf.indexOf('\\f')) {
      const frame = JSON.parse(buf.slice(0, at));
      buf = buf.slice(at + 1);
      if (frame.type === 'reply') { say({ event: 'reply', i, ok: frame.data.ok }); resolve(); }
    }
  });
  s.on('error', () => {});
  s.on('close', () => { say({ event: 'closed', i }); resolve(); });
});
(async () => {
  for (let i = 0; i < count; i++) await open(i);
  say({ event: 'opened' });
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', () => { for (let i = 0; i < count; i++) if (!conns[i].destroyed) request(i, {}); });
  process.stdin.on('end', () => process.exit(0));
})();`;

export interface WatcherEvent {
  event: 'reply' | 'closed' | 'opened';
  i?: number;
  ok?: boolean;
}

export interface Watchers {
  events: WatcherEvent[];
  replies(i: number): number;
  closed(): number[];
  ping(): void;
  stop(): void;
}

// In the network namespace of process NETNS (the daemon's), as a client on the
// same machine would be (SO_PEERCRED tells the daemon who it is either way).
export function startWatchers(socket: string, count: number, netns: number, as?: AsUser): Watchers {
  const command = [process.execPath, '-e', SCRIPT, socket, String(count)];
  const argv = ['nsenter', `--net=/proc/${netns}/ns/net`, '--', ...(as ? asUser(as, command) : command)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const events: WatcherEvent[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as WatcherEvent);
  });
  return {
    events,
    replies: (i) => events.filter((e) => e.event === 'reply' && e.i === i && e.ok).length,
    closed: () => events.filter((e) => e.event === 'closed').map((e) => e.i!),
    ping: () => child.stdin!.write('ping\n'),
    stop: () => child.kill(),
  };
}
