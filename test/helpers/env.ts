// Paths and environment shared by the tests: the built CLI, the stand-in
// tools on PATH, the stand-in NixOS expression, and Nix settings for running
// as root without a daemon (no build users, no sandbox) on Debian's Nix.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
export const CLI = join(REPO, 'dist/cli/main.js');
export const STAND_INS = join(REPO, 'test/stand-ins');
export const NIXOS_EXPR = join(REPO, 'test/fixtures/nixos');
export const FIXTURE_CFG = join(REPO, 'test/fixtures/nix-cfg');

// Debian's Nix as root without a daemon (no build users, no sandbox), and offline:
// with a substituter, a fresh store asks it about every path first (a minute of
// retries per build where no network answers).
export const NIX_CONFIG = ['build-users-group =', 'sandbox = false', 'substituters ='].join('\n');

// The unprivileged user the test daemons evaluate as, through the nix-daemon
// scripts/run-suite.sh starts (NIX_DAEMON_SOCKET_PATH); unset outside it.
export const EVAL_USER = process.env.NOI_TEST_EVAL_USER ?? null;

// The one deadline the README promises ("Security"): cancel or shutdown ends a
// child's process group with SIGTERM, then SIGKILL after 3 s. The only timing
// the tests assert, generous for a loaded machine; speed figures live in bench/.
export const README_STOP_DEADLINE_MS = 20_000;

export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${STAND_INS}:${process.env.PATH}`,
    NIX_CONFIG,
    ...extra,
  };
}

// A scratch folder that nixos-install would accept as a root's parent (0755).
export async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `noi-${prefix}-`));
  await chmod(dir, 0o755);
  return dir;
}

// A scratch folder with an empty target root in it, as a mounted target is
// (0755, root's, a mount point: bind-mounted onto itself, since the daemon
// refuses a root that is not one). cleanUp (helpers/daemon.ts) unmounts it.
export async function scratchWithRoot(prefix: string): Promise<{ dir: string; root: string }> {
  const dir = await scratch(prefix);
  const root = join(dir, 'root');
  await mkdir(root, { mode: 0o755 });
  bindMount(root);
  return { dir, root };
}

export function bindMount(path: string): void {
  execFileSync('mount', ['--bind', path, path]);
}

// Unmounts everything mounted at or below DIR, deepest first.
export function unmountBelow(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of points) execFileSync('umount', ['-l', point]);
}

// `pgrep -f` pattern of the daemon's `nix copy` into ROOT (the store URI it passes, regex-escaped).
export function nixCopyPattern(root: string): string {
  return `nix copy --no-check-sigs --to local\\?root=${encodeURIComponent(root)}`;
}

// Processes whose command line names TEXT; with NETNS (a /proc/<pid>/ns/net link's target), only those in it.
export function pidsWith(text: string, netns?: string): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      if (netns !== undefined && readlinkSync(`/proc/${pid}/ns/net`) !== netns) return false;
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.includes(text));
    } catch {
      return false;
    }
  }).map(Number);
}
