// scripts/run-suite.sh on a fresh machine (issue 29, item 7): the bed's Nix
// store exists before any test and the tests' nix-daemon opens it as a local
// store, never as a client of its own socket; a suite that stalls is stopped at
// its deadline (NOI_SUITE_DEADLINE) naming the test it was running.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/env.js';

const INVALID_PATH = '/nix/store/00000000000000000000000000000000-never-built';

describe('the eval-user nix-daemon on a machine with an empty /nix', () => {
  it('makes the local store first and serves it, never connecting to itself', () => {
    // A mount namespace of its own whose /nix is an empty tmpfs, as a freshly built
    // bed's. Its mounts made private first (in a bed, whose root is no mount point,
    // bed-chroot.sh already made them so): the tmpfs must not reach the machine's /nix.
    // In a bed, mounts made shared since are made private one by one, where / cannot be: `ip netns add` (the fleet
    // tests') makes /run/netns and each namespace's file shared mounts, and a Debian 13 run that ran one first failed.
    const script = [
      'mount --make-rprivate / 2>/dev/null || true',
      'grep " shared:" /proc/self/mountinfo | cut -d" " -f5 | while read -r point; do mount --make-private -- "$point"; done',
      'if grep " shared:" /proc/self/mountinfo >&2; then echo "a mount is still shared" >&2; exit 4; fi',
      'mount -t tmpfs fresh-nix /nix',
      'source scripts/eval-user-nix-daemon.sh',
      'test -w /nix/var/nix/db/db.sqlite || { echo "no store database" >&2; exit 3; }',
      // A client of the daemon; the guard only ends a daemon that forwards to itself without end.
      `NIX_REMOTE=daemon timeout 60 nix-store --check-validity --print-invalid ${INVALID_PATH}`,
    ].join('\n');
    const run = spawnSync('unshare', ['--mount', '--propagation', 'unchanged', 'bash', '-euc', script], { cwd: REPO, encoding: 'utf8' });
    expect(run.stderr).not.toContain("cannot open connection to remote store 'daemon'");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(INVALID_PATH);
  });
});

describe('run-suite.sh deadline', () => {
  const bed = `deadline-check-${process.pid}`;
  afterEach(() => {
    for (const file of [`vitest-${bed}.json`, `bed-${bed}.versions`, `bed-${bed}.stalled`, `running-${bed}`]) rmSync(join(REPO, '.tmp', file), { recursive: true, force: true });
  });

  it('stops a stalled suite and names the test it was running', () => {
    const run = spawnSync('bash', ['scripts/run-suite.sh', bed, '--config', 'test/fixtures/stalled-suite/vitest.config.ts'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, NOI_SUITE_DEADLINE: '40s' },
    });
    const stalled = 'test/fixtures/stalled-suite/suite.stalls.ts > a stalling suite > blocks in a child that never exits';
    expect(run.status, run.stderr).toBe(124);
    expect(run.stderr).toContain(`test bed ${bed}: stopped at the suite's deadline (40s, NOI_SUITE_DEADLINE); running then:\n  ${stalled}\n`);
    expect(run.stderr).not.toContain('finishes its first test');
    // test.sh reads the same words for the bed's line.
    expect(readFileSync(join(REPO, '.tmp', `bed-${bed}.stalled`), 'utf8')).toContain(stalled);
    expect(existsSync(join(REPO, '.tmp', `vitest-${bed}.json`))).toBe(false);
  }, 180_000);
});
