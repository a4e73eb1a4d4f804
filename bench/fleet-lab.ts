// What the fleet benchmark sets up: a switch (a bridge in a network namespace
// of its own), the seed and N targets on it by veth pairs, the seed's link
// shaped with tc's token bucket to the link rate, and a cgroup (v2, else v1's
// cpuacct and memory) that accounts the seed's store processes.
import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ip, Namespaces, netnsCommand } from '../test/helpers/netns.js';

export const SEED_ADDRESS = '10.79.0.1';

export interface Lab {
  ns: Namespaces;
  seed: string;
  targets: string[];
}

// The seed's side of its link: a token bucket at RATE (tc's words, e.g. 100mbit) on what the seed sends.
function shape(seed: string, rate: string): void {
  inNs(seed, ['tc', 'qdisc', 'replace', 'dev', 's0', 'root', 'tbf', 'rate', rate, 'burst', '128kb', 'latency', '50ms']);
}

function inNs(netns: string, command: string[]): string {
  const [file, ...args] = netnsCommand(netns, command);
  return execFileSync(file!, args, { encoding: 'utf8' });
}

export function makeLab(targets: number, rate: string): Lab {
  const ns = new Namespaces();
  const sw = ns.add('switch');
  ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', sw, 'link', 'set', 'br0', 'up');
  const seed = ns.add('seed');
  ns.link(seed, 's0', sw, 'sw0');
  ip('-n', sw, 'link', 'set', 'sw0', 'master', 'br0');
  ip('-n', seed, 'address', 'add', `${SEED_ADDRESS}/24`, 'dev', 's0');
  shape(seed, rate);
  const made: string[] = [];
  for (let i = 1; i <= targets; i++) {
    const target = ns.add(`t${i}`);
    ns.link(target, 't0', sw, `sw${i}`);
    ip('-n', sw, 'link', 'set', `sw${i}`, 'master', 'br0');
    ip('-n', target, 'address', 'add', `10.79.0.${10 + i}/24`, 'dev', 't0');
    made.push(target);
  }
  return { ns, seed, targets: made };
}

// Bytes the seed sent on its link (all of it: TCP, ssh and Nix's framing included).
export function seedSentBytes(lab: Lab): number {
  // ip's statistics, not /sys/class/net: /sys shows the namespace that mounted it, never the seed's.
  const link = JSON.parse(inNs(lab.seed, ['ip', '-json', '-statistics', 'link', 'show', 'dev', 's0']))[0];
  return Number(link.stats64.tx.bytes);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

// A cgroup whose processes (and their children) are accounted: CPU time and anonymous memory, in bytes.
export class SeedCgroup {
  readonly dirs: string[];
  private readonly v2: boolean;

  constructor(name: string) {
    this.v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    this.dirs = this.v2 ? [join('/sys/fs/cgroup', name)] : ['cpuacct', 'memory'].map((c) => join('/sys/fs/cgroup', c, name));
    for (const dir of this.dirs) mkdirSync(dir);
  }

  // Shell words that move the shell into the cgroup, then run the rest.
  enter(command: string[]): string[] {
    const moves = this.dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
    return ['sh', '-c', `${moves} && exec "$@"`, 'sh', ...command];
  }

  cpuSeconds(): number {
    if (this.v2) return Number(/usage_usec (\d+)/.exec(readFileSync(join(this.dirs[0]!, 'cpu.stat'), 'utf8'))![1]) / 1e6;
    return Number(readFileSync(join(this.dirs[0]!, 'cpuacct.usage'), 'utf8')) / 1e9;
  }

  // Anonymous memory: the processes' own, not the page cache of the store files they read.
  anonBytes(): number {
    const stat = readFileSync(join(this.dirs.at(-1)!, 'memory.stat'), 'utf8');
    return Number((this.v2 ? /^anon (\d+)/m : /^total_rss (\d+)/m).exec(stat)![1]);
  }

  // Once its processes have gone (nix-daemon's workers end just after their connections); after 2 s what is left
  // (a seed killed before its sshd's sessions ended) is killed, and a cgroup that still cannot go is named.
  async remove(): Promise<void> {
    for (const dir of this.dirs) {
      for (let tries = 0; existsSync(dir); tries++) {
        try {
          rmdirSync(dir);
        } catch (error) {
          if (tries === 50) {
            process.stderr.write(`[bench fleet] the cgroup ${dir} is left behind: ${String(error)}\n`);
            break;
          }
          if (tries === 20) for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) killQuietly(Number(pid));
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
}

// Incompressible bytes, the same for a given size and index: the closure's paths are the same store paths at each run.
export function closureFiles(dir: string, paths: number, bytesEach: number): string[] {
  const made: string[] = [];
  for (let i = 0; i < paths; i++) {
    const folder = join(dir, `noi-fleet-bench-${bytesEach}-${i}`);
    mkdirSync(folder, { recursive: true });
    const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, i), Buffer.alloc(16));
    writeFileSync(join(folder, 'data'), Buffer.concat([cipher.update(Buffer.alloc(bytesEach)), cipher.final()]));
    made.push(folder);
  }
  return made;
}
