// The small pieces the daemon's confinement rests on, one by one.
import { chmod, chown, lchown, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CappedLog, pruneInstallLogs } from '../../src/log/capped-log.js';
import { reportNixError } from '../../src/nix/errors.js';
import { isGroupMember, passOverReason, untrustedReason } from '../../src/resolve/trusted-source.js';
import { clip } from '../../src/common/clip.js';
import { mountPoints } from '../../src/validate/check-target-root.js';
import { formatBytes, neededBytes } from '../../src/common/free-space.js';
import { scratch } from '../helpers/env.js';

let dir: string;
beforeEach(async () => (dir = await scratch('helpers')));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('an install log that stops growing', () => {
  it('keeps the head and the tail, and says how much it left out', () => {
    const written: string[] = [];
    const log = new CappedLog({ write: (t) => (written.push(t), true), flushSync: () => undefined }, 'id-1', 30, 20);
    for (let i = 0; i < 10; i++) log.write(`line ${i}\n`);
    log.flushSync();
    // 7 characters a line: 4 lines fit the head, the last 2 fit the tail.
    expect(written.slice(0, 4)).toEqual(['line 0\n', 'line 1\n', 'line 2\n', 'line 3\n']);
    expect(JSON.parse(written[4]!)).toMatchObject({ level: 40, installId: 'id-1', msg: expect.stringContaining('4 log lines (28 characters) are left out here') });
    expect(written.slice(5)).toEqual(['line 8\n', 'line 9\n']);
    log.write('line 10\n');
    log.flushSync();
    expect(written.at(-1)).toBe('line 10\n');
  });

  it('keeps the newest install logs only, of real installs and of refused ones each', () => {
    const names = ['install-20261101-000000-aa.log', 'install-20261102-000000-bb.log', 'install-20261103-000000-cc.log', 'other.txt'];
    const removed: string[] = [];
    pruneInstallLogs({ touched: 2, untouched: 2 }, () => names, (n) => removed.push(n), () => true);
    expect(removed).toEqual(['install-20261101-000000-aa.log']);
    // Refused attempts after a real install push out only their own kind.
    const refused = ['install-20261104-000000-dd.log', 'install-20261105-000000-ee.log', 'install-20261106-000000-ff.log'];
    const removedNow: string[] = [];
    pruneInstallLogs({ touched: 2, untouched: 1 }, () => ['install-20261101-000000-aa.log', ...refused], (n) => removedNow.push(n), (n) => !refused.includes(n));
    expect(removedNow).toEqual(refused.slice(0, 2));
  });
});

describe('kept text', () => {
  it('is cut and copied', () => {
    expect(clip('x'.repeat(20), 5)).toBe('xxxxx…');
    expect(clip('short', 5)).toBe('short');
  });
});

describe('error source lines', () => {
  it('are read only from the configuration folder, never from a file an error names elsewhere', async () => {
    const source = join(dir, 'cfg');
    await mkdir(source);
    await writeFile(join(source, 'configuration.nix'), '{\n  broken = ;\n}\n');
    const victim = join(dir, 'shadow');
    await writeFile(victim, 'root:$6$hash-of-secret:19000\n', { mode: 0o600 });
    await symlink(victim, join(source, 'link.nix'));
    const error = (file: string) => ({ action: 'msg' as const, level: 0, text: 'syntax error', message: 'syntax error', position: { file, line: 1, column: 5 }, trace: [] });
    expect(reportNixError([error(victim)], { source }, []).summary).not.toContain('secret');
    expect(reportNixError([error(join(source, 'link.nix'))], { source }, []).summary).not.toContain('secret');
    const own = { ...error(join(source, 'configuration.nix')), position: { file: join(source, 'configuration.nix'), line: 2, column: 12 } };
    expect(reportNixError([own], { source }, []).summary).toContain('broken = ;');
  });
});

describe('trusted configuration folders', () => {
  it('are root\'s or a socket-group member\'s, real folders nobody else may write to', async () => {
    const folder = join(dir, 'cfg');
    await mkdir(folder, { mode: 0o755 });
    expect(untrustedReason(folder, 100)).toBeNull();
    await chown(folder, 4242, 4242);
    expect(untrustedReason(folder, 100)).toContain('belongs to uid 4242');
    // The owner can give a folder only a group they are in: the socket group's gid proves membership.
    await chown(folder, 4242, 100);
    expect(untrustedReason(folder, 100)).toBeNull();
    await chmod(folder, 0o757);
    expect(untrustedReason(folder, 100)).toContain('writable by every user');
    await chown(folder, 0, 4343);
    await chmod(folder, 0o775);
    expect(untrustedReason(folder, 100)).toContain('writable by group 4343');
    await chmod(folder, 0o755);
    await symlink(folder, join(dir, 'link'));
    expect(untrustedReason(join(dir, 'link'), 100)).toContain('is a symbolic link');
    expect(untrustedReason(join(dir, 'missing'), 100)).toBeNull();
  });

  it("are passed over when empty or a stranger's (the link's own owner counts), not when a member's", async () => {
    const folder = join(dir, 'cfg');
    await mkdir(folder, { mode: 0o777 });
    expect(passOverReason(folder, 100)).toBe('is empty');
    await writeFile(join(folder, 'configuration.nix'), '{}');
    expect(passOverReason(folder, 100)).toBeNull();
    await chown(folder, 4242, 4242);
    expect(passOverReason(folder, 100)).toContain('belongs to uid 4242');
    await chown(folder, 4242, 100);
    expect(passOverReason(folder, 100)).toBeNull();
    await symlink(folder, join(dir, 'link'));
    await lchown(join(dir, 'link'), 4242, 4242);
    expect(passOverReason(join(dir, 'link'), 100)).toContain('belongs to uid 4242');
  });

  it('reads membership from the account files', async () => {
    const passwd = join(dir, 'passwd');
    const group = join(dir, 'group');
    await writeFile(passwd, 'nixos:x:1000:100::/home/nixos:/bin/sh\nother:x:1001:1001::/:/bin/sh\n');
    await writeFile(group, 'users:x:100:\ninstaller:x:990:nixos,other\nwheel:x:1:\n');
    expect(isGroupMember(1000, 100, { passwd, group })).toBe(true);
    expect(isGroupMember(1000, 990, { passwd, group })).toBe(true);
    expect(isGroupMember(1001, 1, { passwd, group })).toBe(false);
    expect(isGroupMember(4242, 990, { passwd, group })).toBe(false);
  });
});

describe('target checks', () => {
  it('read mount points as /proc/self/mountinfo escapes them', () => {
    const info = '36 35 98:0 / /mnt rw - ext4 /dev/vda2 rw\n37 36 98:1 / /tmp/calamares-root-x\\040y rw - ext4 /dev/vda3 rw\n';
    expect([...mountPoints(info)]).toEqual(['/mnt', '/tmp/calamares-root-x y']);
  });

  it('ask for the closure plus headroom, in the units disks are sold in', () => {
    expect(neededBytes(7_000_000_000)).toBe(Math.ceil(7_000_000_000 * 1.1) + 256 * 1024 * 1024);
    expect(formatBytes(7_968_435_456)).toBe('8.0 GB');
    expect(formatBytes(5_100_000_000)).toBe('5.1 GB');
    expect(formatBytes(16_777_216)).toBe('16.8 MB');
  });
});
