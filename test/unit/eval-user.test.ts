import { describe, expect, it } from 'vitest';
import { chmod, lstat, mkdir, mkdtemp, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalUserEnv, prepareEvalHome } from '../../src/nix/eval-user.js';
import { isUntrustedClientNotice, reportNixError } from '../../src/nix/errors.js';
import { groupReadableMode } from '../../src/prepare/eval-group-access.js';
import { dropKeptCopy, privateCopy } from '../../src/prepare/private-copy.js';
import { setEvalUser } from '../../src/nix/eval-user.js';

const USER = { name: 'evaler', uid: 45678, gid: 45679 };

describe('the eval user', () => {
  it("gets its own HOME and XDG folders and nix-daemon as the store", () => {
    expect(evalUserEnv({ ...USER, home: '/var/lib/x/eval-home' })).toEqual({
      HOME: '/var/lib/x/eval-home',
      USER: 'evaler',
      LOGNAME: 'evaler',
      XDG_CACHE_HOME: '/var/lib/x/eval-home/.cache',
      XDG_CONFIG_HOME: '/var/lib/x/eval-home/.config',
      XDG_DATA_HOME: '/var/lib/x/eval-home/.local/share',
      XDG_STATE_HOME: '/var/lib/x/eval-home/.local/state',
      NIX_REMOTE: 'daemon',
    });
  });

  it('has a private home made (or taken back) for it, 0700, in a folder only root may change', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'noi-evalhome-'));
    await chmod(parent, 0o755);
    const home = join(parent, 'eval-home');
    await prepareEvalHome({ ...USER, home });
    let info = await stat(home);
    expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([USER.uid, USER.gid, 0o700]);
    await chmod(home, 0o777);
    await prepareEvalHome({ ...USER, home });
    info = await stat(home);
    expect(info.mode & 0o7777).toBe(0o700);
  });

  it('refuses a home that is a link, or a parent others may write to', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'noi-evalhome-'));
    await chmod(parent, 0o755);
    await mkdir(join(parent, 'elsewhere'));
    await symlink(join(parent, 'elsewhere'), join(parent, 'eval-home'));
    await expect(prepareEvalHome({ ...USER, home: join(parent, 'eval-home') })).rejects.toThrow(/is not a folder/);
    expect((await lstat(join(parent, 'elsewhere'))).uid).toBe(0);
    await chmod(parent, 0o777);
    await expect(prepareEvalHome({ ...USER, home: join(parent, 'other-home') })).rejects.toThrow(/writable by root only/);
  });

  it("shares the prepared copy with its group: folders 0750, files group-readable, none writable but by root, others' bits kept", async () => {
    expect(groupReadableMode(0o600, false)).toBe(0o640);
    expect(groupReadableMode(0o644, false)).toBe(0o644);
    expect(groupReadableMode(0o700, false)).toBe(0o750);
    expect(groupReadableMode(0o755, false)).toBe(0o755);
    expect(groupReadableMode(0o755, true)).toBe(0o750);
    const source = await mkdtemp(join(tmpdir(), 'noi-share-'));
    await mkdir(join(source, 'sub'));
    await writeFile(join(source, 'secret.nix'), '{ }', { mode: 0o600 });
    await writeFile(join(source, 'sub/open.nix'), '{ }', { mode: 0o644 });
    await symlink('secret.nix', join(source, 'link.nix'));
    setEvalUser({ ...USER, home: '/nonexistent' });
    const ctx = { signal: new AbortController().signal, log: () => undefined, output: () => undefined, recentLines: () => [] };
    const copy = await privateCopy(ctx, source).finally(() => setEvalUser(null));
    const work = join(copy.folder, '..');
    const of = async (rel: string) => {
      const info = await lstat(join(work, rel));
      return `${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid}`;
    };
    try {
      expect(await of('')).toBe(`750 0:${USER.gid}`);
      expect(await of('nixos')).toBe(`750 0:${USER.gid}`);
      expect(await of('nixos/sub')).toBe(`750 0:${USER.gid}`);
      expect(await of('nixos/secret.nix')).toBe(`640 0:${USER.gid}`);
      expect(await of('nixos/sub/open.nix')).toBe(`644 0:${USER.gid}`);
      expect((await lstat(join(work, 'nixos/link.nix'))).isSymbolicLink()).toBe(true);
    } finally {
      await copy.remove();
      await dropKeptCopy();
    }
  });

  it("never takes nix-daemon's notices to an untrusted client for the failure", () => {
    expect(isUntrustedClientNotice("warning: ignoring the client-specified setting 'build-users-group', because it is a restricted setting and you are not a trusted user")).toBe(true);
    expect(isUntrustedClientNotice("warning: ignoring untrusted substituter 'https://example.org'")).toBe(true);
    expect(isUntrustedClientNotice("error: opening file '/x/secret': Permission denied")).toBe(false);
    // Nix 2.26 and 2.34 send them at the error level, after the real error too when a later connection opens.
    const msg = (message: string) => ({ action: 'msg' as const, level: 0, text: message, message, position: null, trace: [] });
    const notice = msg("warning: ignoring the client-specified setting 'sandbox', because it is a restricted setting and you are not a trusted user");
    expect(reportNixError([notice, msg("opening file '/x/secret': Permission denied"), notice], { source: '/cfg' }, []).summary).toBe("error: opening file '/x/secret': Permission denied");
  });
});
