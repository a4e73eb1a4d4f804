// Network namespaces made by a test: veth pairs between them, no route out of
// any. Names carry a random part, so tests on other beds of the same kernel
// (chroots share it) never meet; each is deleted afterwards.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

// `ip -n NS ...` is run as `nsenter --net=... ip ...`: ip's own -n remounts / and /sys, which fails in a chroot bed.
export function ip(...args: string[]): string {
  const [file, ...rest] = args[0] === '-n' ? netnsCommand(args[1]!, ['ip', ...args.slice(2)]) : ['ip', ...args];
  return execFileSync(file!, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// COMMAND run in the namespace: nsenter, not ip netns exec, which remounts /sys and so fails in a chroot bed.
export function netnsCommand(netns: string, command: string[]): string[] {
  return ['nsenter', `--net=/run/netns/${netns}`, '--', ...command];
}

export function inNetns(netns: string, command: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  try {
    const [file, ...args] = netnsCommand(netns, command);
    const stdout = execFileSync(file!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 60_000, ...(options.env && { env: options.env }) });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status?: number | null; stdout?: string; stderr?: string };
    return { code: e.status ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export class Namespaces {
  readonly tag = randomBytes(3).toString('hex');
  private readonly made: string[] = [];

  // A namespace with its loopback up.
  add(role: string): string {
    const name = `noi-${role}-${this.tag}`;
    ip('netns', 'add', name);
    this.made.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  // A veth pair made inside the two namespaces at once (never in the machine's own), both ends up.
  link(a: string, aName: string, b: string, bName: string): void {
    ip('link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b);
    ip('-n', a, 'link', 'set', aName, 'up');
    ip('-n', b, 'link', 'set', bName, 'up');
  }

  remove(): void {
    for (const name of this.made.splice(0)) {
      try {
        ip('netns', 'del', name);
      } catch {
        // Already gone.
      }
    }
  }
}

// COMMAND in a private mount namespace whose /nix is an empty tmpfs: a netbooted target's empty store. In a
// test bed's chroot / is no mount point (unshare cannot make it private: EINVAL) and bed-chroot.sh's own
// namespace made every mount private already (as scripts/iso-store.sh does).
export function emptyStoreCommand(command: string[]): string[] {
  const inner = 'mount -t tmpfs -o mode=0755 none /nix && [ -z "$(ls -A /nix)" ] && exec "$@"';
  return ['sh', '-c', `p=private; mountpoint -q / || p=unchanged; exec unshare --mount --propagation "$p" -- sh -c '${inner}' sh "$@"`, 'sh', ...command];
}
