import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { daemonOptions, groupId, OptionError } from '../../src/daemon/options.js';

describe('daemon options', () => {
  it('has the documented defaults', () => {
    expect(daemonOptions({}, {})).toEqual({
      socketPath: '/run/nixos-offline-installer/ipc.sock',
      socketGid: 0,
      configDirs: ['/tmp/nix-cfg', '/iso/nix-cfg'],
      nixosExpr: '<nixpkgs/nixos>',
      nixpkgs: null,
      channelProfile: '/nix/var/nix/profiles/per-user/root/channels',
      manifest: null,
      logDir: '/var/log/nixos-offline-installer',
      logLevel: 'info',
    });
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
});
