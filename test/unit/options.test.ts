import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { daemonOptions, groupId, OptionError, userIds } from '../../src/daemon/options.js';
import { INSTALLER_DEFAULTS } from '../../src/protocol/installer-defaults.js';

describe('daemon options', () => {
  it("takes its defaults from nix/installer-defaults.json; with no group or eval user, only root uses the socket and evaluates", () => {
    const defaults = INSTALLER_DEFAULTS.daemon;
    expect(daemonOptions({}, {})).toEqual({
      socketPath: defaults.socket,
      socketGid: 0,
      configDirs: defaults.configDirs,
      nixosExpr: defaults.nixosExpr,
      nixpkgs: null,
      channelProfile: defaults.channelProfile,
      manifest: null,
      logDir: defaults.logDir,
      logLevel: defaults.logLevel,
      evalUser: null,
      // The fleet's servers are the daemon's children unless the NixOS module says systemd.
      fleet: { stateDir: INSTALLER_DEFAULTS.fleet.stateDir, user: INSTALLER_DEFAULTS.fleet.user, units: 'direct' },
    });
  });

  it("reads the fleet's folder, user and unit mode from the environment, refusing an unknown mode", () => {
    expect(daemonOptions({}, { NOI_FLEET_DIR: '/run/f', NOI_FLEET_USER: 'dhcp', NOI_FLEET_UNITS: 'systemd' }).fleet).toEqual({ stateDir: '/run/f', user: 'dhcp', units: 'systemd' });
    expect(() => daemonOptions({}, { NOI_FLEET_UNITS: 'docker' })).toThrow(/NOI_FLEET_UNITS "docker" is not one of direct, systemd/);
  });

  it('reads the environment, and flags win over it', () => {
    const env = { NOI_CONFIG_DIRS: '/a:/b', NOI_NIXOS_EXPR: '/e.nix', NOI_NIXPKGS: '/nix/store/x-source', NOI_SOCKET: '/s', NOI_LOG_LEVEL: 'debug' };
    expect(daemonOptions({}, env)).toMatchObject({ configDirs: ['/a', '/b'], nixosExpr: '/e.nix', nixpkgs: '/nix/store/x-source', socketPath: '/s', logLevel: 'debug' });
    expect(daemonOptions({ 'config-dirs': '/c', socket: '/t' }, env)).toMatchObject({ configDirs: ['/c'], socketPath: '/t' });
  });

  it('makes relative paths absolute against the caller folder, and keeps a Nix search path as it is', () => {
    const options = daemonOptions({ 'nixos-expr': 'test/fixtures/nixos', 'log-dir': 'logs', manifest: './m.json' }, {});
    expect(options).toMatchObject({ nixosExpr: join(process.cwd(), 'test/fixtures/nixos'), logDir: join(process.cwd(), 'logs'), manifest: join(process.cwd(), 'm.json') });
    expect(daemonOptions({ 'nixos-expr': '<nixpkgs/nixos>' }, {}).nixosExpr).toBe('<nixpkgs/nixos>');
  });

  it('refuses bad values with a message naming them', () => {
    expect(() => daemonOptions({ 'config-dirs': 'relative/dir' }, {})).toThrow(/"relative\/dir" must be an absolute path/);
    expect(() => daemonOptions({ 'log-level': 'loud' }, {})).toThrow(OptionError);
    expect(() => daemonOptions({ 'socket-group': 'no-such-group-here' }, {})).toThrow(/socket group "no-such-group-here" does not exist/);
  });

  it('resolves a group name or number', () => {
    expect(groupId('root')).toBe(0);
    expect(groupId('100')).toBe(100);
  });

  it('resolves the eval user to its uid and primary gid, with its private home', async () => {
    const passwd = join(await mkdtemp(join(tmpdir(), 'noi-passwd-')), 'passwd');
    await writeFile(passwd, 'root:x:0:0:root:/root:/bin/sh\nevaler:x:987:986::/nonexistent:/usr/sbin/nologin\n');
    expect(userIds('evaler', passwd)).toEqual({ uid: 987, gid: 986 });
    expect(() => userIds('nobody-here', passwd)).toThrow(/eval user "nobody-here" does not exist in .*passwd; create it/);
  });

  it('takes --eval-user and --eval-home (or NOI_EVAL_USER, NOI_EVAL_HOME), refusing root and unknown users', () => {
    expect(() => daemonOptions({ 'eval-user': 'root' }, {})).toThrow(/eval user "root" is root \(uid 0\)/);
    expect(() => daemonOptions({}, { NOI_EVAL_USER: 'no-such-user-here' })).toThrow(/eval user "no-such-user-here" does not exist in \/etc\/passwd/);
    expect(daemonOptions({ 'eval-user': 'nobody', 'eval-home': 'h' }, {}).evalUser).toMatchObject({ name: 'nobody', uid: 65534, home: join(process.cwd(), 'h') });
    expect(daemonOptions({}, { NOI_EVAL_USER: 'nobody' }).evalUser?.home).toBe(INSTALLER_DEFAULTS.daemon.evalHome);
  });
});
