import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/daemon/parse-request.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';

const v = PROTOCOL_VERSION;

describe('parseRequest', () => {
  it('takes a flake configuration name for install and validate, and nothing that is not a plain name', () => {
    expect(parseRequest('install', { v, id: 'f', root: '/mnt', flakeConfig: 'lab-01' })).toEqual({ ok: true, value: { type: 'install', request: { v, id: 'f', root: '/mnt', flakeConfig: 'lab-01' } } });
    expect(parseRequest('validate', { v, id: 'g', flakeConfig: 'office' })).toEqual({ ok: true, value: { type: 'validate', request: { v, id: 'g', flakeConfig: 'office' } } });
    for (const bad of ['', 'a.b', 'x y', '"q"', 7, 'n'.repeat(129)]) {
      const result = parseRequest('install', { v, id: 'h', root: '/mnt', flakeConfig: bad });
      expect(result.ok ? null : result.error.field).toBe('flakeConfig');
    }
  });

  it("takes a validate request's choices as an install's, and no target or partitions", () => {
    const choices = { hostname: 'field-01', timezone: 'Europe/Berlin', firmwareType: 'bios' };
    expect(parseRequest('validate', { v, id: 'k', user: 'alice', desktop: '', choices })).toEqual({ ok: true, value: { type: 'validate', request: { v, id: 'k', user: 'alice', desktop: '', choices } } });
    const field = (data: object) => {
      const result = parseRequest('validate', { v, id: 'k', ...data });
      return result.ok ? null : result.error.field;
    };
    expect(field({ choices: { rootPassword: 'x' } })).toBe('choices.rootPassword');
    expect(field({ choices: { hostname: 7 } })).toBe('choices.hostname');
    expect(field({ choices: 'de' })).toBe('choices');
    expect(field({ root: '/mnt' })).toBe('root');
    expect(field({ partitions: [] })).toBe('partitions');
  });

  it('accepts the three requests with their fields', () => {
    expect(parseRequest('status', { v, id: 'a', watch: true })).toEqual({ ok: true, value: { type: 'status', request: { v, id: 'a', watch: true } } });
    expect(parseRequest('install', { v, id: 'b', root: '/mnt', user: 'alice', desktop: 'gnome' })).toEqual({
      ok: true,
      value: { type: 'install', request: { v, id: 'b', root: '/mnt', user: 'alice', desktop: 'gnome' } },
    });
    expect(parseRequest('install', { v, id: 'c', root: '/mnt', desktop: '' })).toMatchObject({ ok: true });
    expect(parseRequest('cancel', { v, id: 'd' })).toEqual({ ok: true, value: { type: 'cancel', request: { v, id: 'd' } } });
  });

  it('accepts the Calamares facts and choices, and nothing else in them', () => {
    const partitions = [{ claimed: true, device: '/dev/vda2', fs: 'linuxswap', fsName: 'luks2', luksMapperName: 'luks-swap', uuid: 'ab-12' }];
    const choices = { hostname: 'field-01', fullname: 'Zoë O’Neil', timezone: 'Europe/Berlin' };
    expect(parseRequest('install', { v, id: 'x', root: '/mnt', partitions, choices, cancelOnDisconnect: true })).toEqual({
      ok: true,
      value: { type: 'install', request: { v, id: 'x', root: '/mnt', partitions, choices, cancelOnDisconnect: true } },
    });
    const field = (data: object) => {
      const result = parseRequest('install', { v, id: 'x', root: '/mnt', ...data });
      return result.ok ? null : result.error.field;
    };
    expect(field({ partitions: [{ luksPassphrase: 'secret' }] })).toBe('partitions[0].luksPassphrase');
    expect(field({ partitions: [{ claimed: 'yes' }] })).toBe('partitions[0].claimed');
    expect(field({ partitions: [{ uuid: 'a\nb' }] })).toBe('partitions[0].uuid');
    expect(field({ partitions: Array.from({ length: 65 }, () => ({})) })).toBe('partitions');
    expect(field({ choices: { rootPassword: 'x' } })).toBe('choices.rootPassword');
    expect(field({ choices: { hostname: 'x'.repeat(257) } })).toBe('choices.hostname');
    expect(field({ cancelOnDisconnect: 1 })).toBe('cancelOnDisconnect');
  });

  it('accepts an unattended install by its answer file alone', () => {
    expect(parseRequest('install', { v, id: 'u', answers: '/iso/nix-cfg/install.json' })).toEqual({ ok: true, value: { type: 'install', request: { v, id: 'u', answers: '/iso/nix-cfg/install.json' } } });
    const field = (data: object) => {
      const result = parseRequest('install', { v, id: 'u', ...data });
      return result.ok ? null : result.error.field;
    };
    expect(field({ answers: 'install.json' })).toBe('answers');
    expect(field({ answers: 7 })).toBe('answers');
    expect(field({ answers: '/a/install.json', root: '/mnt' })).toBe('root');
    expect(field({ answers: '/a/install.json', user: 'alice' })).toBe('user');
    expect(field({ answers: '/a/install.json', cancelOnDisconnect: true })).toBe('cancelOnDisconnect');
  });

  it('refuses unknown requests by name', () => {
    expect(parseRequest('format-disk', { v, id: 'x' })).toMatchObject({ ok: false, id: 'x', error: { code: 'unknown-request', title: 'Unknown request "format-disk"' } });
  });

  it('refuses another protocol version', () => {
    expect(parseRequest('status', { v: 2, id: 'x' })).toMatchObject({ ok: false, error: { code: 'unsupported-version', field: 'v' } });
    expect(parseRequest('status', { id: 'x' })).toMatchObject({ ok: false, error: { code: 'unsupported-version' } });
  });

  it.each([
    ['install', { v, id: 'x' }, 'root'],
    ['install', { v, id: 'x', root: 'mnt' }, 'root'],
    ['install', { v, id: 'x', root: '/mnt\0/x' }, 'root'],
    ['install', { v, id: 'x', root: '/mnt', user: 'Alice' }, 'user'],
    ['install', { v, id: 'x', root: '/mnt', user: 'a; rm -rf /' }, 'user'],
    ['install', { v, id: 'x', root: '/mnt', desktop: 'GNOME!' }, 'desktop'],
    ['install', { v, id: 'x', root: '/mnt', extra: 1 }, 'extra'],
    ['status', { v, id: 'x', watch: 'yes' }, 'watch'],
    ['status', { v, id: '' }, 'id'],
    ['status', { v, id: 'x'.repeat(65) }, 'id'],
    ['cancel', { v, id: 'x', force: true }, 'force'],
  ])('%s %j names the bad field %s', (type, data, field) => {
    const result = parseRequest(type, data);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe(field);
      expect(result.error.title).toContain(field);
    }
  });

  it.each([
    ['/mnt?real=/etc', 'a store URI parameter'],
    ['/mnt&root=/etc', 'a store URI separator'],
    ['/tmp/calamares-root-ab12/', 'a trailing slash'],
    ['/tmp/x/link/..', 'a ".." part'],
    ['/tmp/./x', 'a "." part'],
    ['//mnt', 'a double slash'],
    ['/mnt x', 'a space'],
    ['/mnt\nx', 'a newline'],
    ['/mnt/ö', 'a character outside [A-Za-z0-9._/-]'],
    ['/$(reboot)', 'shell syntax'],
    [`/${'a'.repeat(1024)}`, 'more than 1024 characters'],
  ])('refuses the root %j (%s): only a plain absolute path', (root) => {
    const result = parseRequest('install', { v, id: 'x', root });
    expect(result).toMatchObject({ ok: false, error: { code: 'bad-request', field: 'root' } });
  });

  it('accepts plain roots, and allowUnmounted only as a boolean', () => {
    for (const root of ['/mnt', '/tmp/calamares-root-x1Y2_z.3-4', '/']) expect(parseRequest('install', { v, id: 'x', root })).toMatchObject({ ok: true });
    expect(parseRequest('install', { v, id: 'x', root: '/mnt', allowUnmounted: true })).toMatchObject({ ok: true, value: { request: { allowUnmounted: true } } });
    expect(parseRequest('install', { v, id: 'x', root: '/mnt', allowUnmounted: 'yes' })).toMatchObject({ ok: false, error: { field: 'allowUnmounted' } });
    const trailing = parseRequest('install', { v, id: 'x', root: '/mnt/' });
    expect(trailing.ok ? '' : trailing.error.description).toContain('the plain form is "/mnt"');
  });

  it.each([null, [], 'x', 42])('refuses a payload that is not an object: %j', (data) => {
    expect(parseRequest('status', data)).toMatchObject({ ok: false, error: { code: 'bad-request', field: 'data' } });
  });
});
