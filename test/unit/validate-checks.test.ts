import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDesktop, checkDownloads, checkUser, validationError } from '../../src/validate/validate-config.js';
import { DESKTOP_OPTIONS } from '../../src/validate/desktops.js';
import { parsePlan, parseShownDerivations, storeName } from '../../src/nix/commands.js';
import { manifestFacts } from '../../src/validate/config-facts.js';
import { InstallError } from '../../src/common/install-error.js';
import type { ConfigFacts } from '../../src/protocol/config-facts.js';
import type { ValidationResult } from '../../src/protocol/messages.js';
import { choicePageLines } from '../../src/protocol/titles.js';
import { scratch } from '../helpers/env.js';

const facts = (users: string[], desktops: string[]): ConfigFacts => ({ origin: 'evaluation', users, desktops, drvPath: null, toplevel: null, closureBytes: null });

describe('user check', () => {
  it('passes a declared user and lists the declared ones otherwise', () => {
    expect(checkUser('alice', facts(['alice', 'bob'], []), '/tmp/nix-cfg')).toBeNull();
    const error = checkUser('carol', facts(['alice', 'bob'], []), '/tmp/nix-cfg')!;
    expect(error.title).toBe('User "carol" is not in the configuration');
    expect(error.description).toContain('It declares these normal users: alice, bob.');
    expect(error.description).toContain('users.users.carol.isNormalUser = true;');
    expect(checkUser('carol', facts([], []), '/x')!.description).toContain('declares no normal user at all');
  });
});

describe('desktop check', () => {
  it.each(Object.keys(DESKTOP_OPTIONS))('accepts %s when the configuration enables it and refuses it otherwise', (id) => {
    expect(checkDesktop(id, facts([], [id]), '/c')).toBeNull();
    const other = id === 'gnome' ? 'xfce' : 'gnome';
    const error = checkDesktop(id, facts([], [other]), '/c')!;
    expect(error.code).toBe('desktop-mismatch');
    expect(error.description).toContain(`enables: ${other}`);
    expect(error.description).toContain(`choose ${other}`);
  });

  it('"" and "none" mean no desktop', () => {
    expect(checkDesktop('', facts([], []), '/c')).toBeNull();
    expect(checkDesktop('none', facts([], []), '/c')).toBeNull();
    expect(checkDesktop('', facts([], ['gnome']), '/c')!.description).toContain('chose no desktop');
  });

  it('refuses an unknown id, listing the known ones', () => {
    const error = checkDesktop('windows', facts([], ['gnome']), '/c')!;
    expect(error.code).toBe('desktop-unknown');
    expect(error.description).toContain('gnome, plasma, plasma6, xfce');
  });

  it('maps every Calamares desktop id, in both option places where nixpkgs moved them', () => {
    expect(Object.keys(DESKTOP_OPTIONS).sort()).toEqual(['budgie', 'cinnamon', 'deepin', 'enlightenment', 'gnome', 'lumina', 'lxqt', 'mate', 'pantheon', 'plasma', 'plasma6', 'xfce']);
    expect(DESKTOP_OPTIONS.gnome).toEqual(['services.xserver.desktopManager.gnome.enable', 'services.desktopManager.gnome.enable']);
    expect(DESKTOP_OPTIONS.plasma).toContain('services.xserver.desktopManager.plasma5.enable');
    expect(DESKTOP_OPTIONS.plasma6).toEqual(['services.desktopManager.plasma6.enable']);
  });
});

describe('offline completeness parsing', () => {
  it("reads Nix's dry-run plan, one path per message or all in one", () => {
    const plan = parsePlan([
      'these 2 derivations will be built:',
      '  /nix/store/902wpbk0mxadq87g0lxzf3y2ikci5vq3-greeting.txt.drv',
      '  /nix/store/rh4mkpkr9pqsvp4n8ip9iv7v65yxcpvn-sys.drv',
      'this path will be fetched (0.01 MiB download, 0.05 MiB unpacked):',
      '  /nix/store/bvhxpgx4rfh26l3sdm4fiw2lkkpbsh89-hello',
      'warning: something else',
    ]);
    expect(plan.toBuild).toEqual(['/nix/store/902wpbk0mxadq87g0lxzf3y2ikci5vq3-greeting.txt.drv', '/nix/store/rh4mkpkr9pqsvp4n8ip9iv7v65yxcpvn-sys.drv']);
    expect(plan.toFetch).toEqual(['/nix/store/bvhxpgx4rfh26l3sdm4fiw2lkkpbsh89-hello']);
    expect(parsePlan(['this derivation will be built:', '  /nix/store/rh4mkpkr9pqsvp4n8ip9iv7v65yxcpvn-sys.drv']).toBuild).toHaveLength(1);
    expect(parsePlan(["don't know how to build these paths:", '  /nix/store/l5dn3f8kax867s5yaif7x6dvqsl9wap6-sys.drv']).unknown).toHaveLength(1);
    expect(parsePlan(['these 2 derivations will be built:\n  /nix/store/902wpbk0mxadq87g0lxzf3y2ikci5vq3-a.drv\n  /nix/store/rh4mkpkr9pqsvp4n8ip9iv7v65yxcpvn-b.drv']).toBuild).toHaveLength(2);
  });

  it('finds fixed-output derivations, with their names and URLs', () => {
    expect(storeName('/nix/store/902wpbk0mxadq87g0lxzf3y2ikci5vq3-greeting.txt.drv')).toBe('greeting.txt');
    const shown = parseShownDerivations(
      JSON.stringify({
        '/nix/store/902wpbk0mxadq87g0lxzf3y2ikci5vq3-greeting.txt.drv': { outputs: { out: { hash: 'abc' } }, env: { urls: 'https://a.invalid/x https://b.invalid/x' } },
        'rh4mkpkr9pqsvp4n8ip9iv7v65yxcpvn-sys.drv': { outputs: { out: {} }, env: {} },
      }),
    );
    expect(shown.get('/nix/store/902wpbk0mxadq87g0lxzf3y2ikci5vq3-greeting.txt.drv')).toEqual({ fixedOutput: true, urls: ['https://a.invalid/x', 'https://b.invalid/x'] });
    // Newer Nix keys derivations by the path without the store directory.
    expect(shown.get('/nix/store/rh4mkpkr9pqsvp4n8ip9iv7v65yxcpvn-sys.drv')).toEqual({ fixedOutput: false, urls: [] });
  });

  it('refuses downloads by name', () => {
    const error = checkDownloads([{ name: 'greeting.txt', drv: '/x.drv', urls: ['https://a.invalid/x'] }], '/tmp/nix-cfg')!;
    expect(error.code).toBe('needs-download');
    expect(error.title).toBe('The configuration needs 1 download that is not on the ISO');
    expect(error.description).toContain('  greeting.txt (https://a.invalid/x)');
    expect(checkDownloads([], '/c')).toBeNull();
  });
});

describe('the ISO manifest', () => {
  it('gives the facts of the folder it describes, and only that folder', async () => {
    const dir = await scratch('manifest');
    const manifest = join(dir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ version: 1, configDir: '/iso/nix-cfg', users: ['alice'], desktops: ['gnome'], toplevel: '/nix/store/x-sys', closureBytes: 10 }));
    expect(await manifestFacts(manifest, '/iso/nix-cfg/')).toEqual({ origin: 'manifest', users: ['alice'], desktops: ['gnome'], drvPath: null, toplevel: '/nix/store/x-sys', closureBytes: 10 });
    expect(await manifestFacts(manifest, '/tmp/nix-cfg')).toBeNull();
    expect(await manifestFacts(join(dir, 'missing.json'), '/iso/nix-cfg')).toBeNull();
    await writeFile(manifest, JSON.stringify({ version: 2, configDir: '/iso/nix-cfg' }));
    await expect(manifestFacts(manifest, '/iso/nix-cfg')).rejects.toThrow(InstallError);
    await rm(dir, { recursive: true });
  });

  it("reads a disko entry only with the scripts in the store and absolute paths (the daemon runs them as root)", async () => {
    const dir = await scratch('manifest');
    const manifest = join(dir, 'manifest.json');
    const disko = { formatScript: `/nix/store/${'a'.repeat(32)}-disko-format`, mountScript: `/nix/store/${'b'.repeat(32)}-disko/bin/disko-mount`, rootMountPoint: '/mnt', disks: { main: '/dev/disk/by-id/nvme-X_1' } };
    const base = { version: 1, configDir: '/iso/nix-cfg', users: [], desktops: [] };
    await writeFile(manifest, JSON.stringify({ ...base, disko }));
    expect((await manifestFacts(manifest, '/iso/nix-cfg'))?.disko).toEqual(disko);
    for (const bad of [{ formatScript: '/tmp/evil.sh' }, { mountScript: `/nix/store/${'b'.repeat(32)}-x/../../../bin/sh` }, { rootMountPoint: 'mnt' }, { rootMountPoint: '/mnt/../etc' }, { disks: {} }, { disks: { main: 'sda' } }, { disks: ['/dev/sda'] }]) {
      await writeFile(manifest, JSON.stringify({ ...base, disko: { ...disko, ...bad } }));
      await expect(manifestFacts(manifest, '/iso/nix-cfg'), JSON.stringify(bad)).rejects.toThrow(/"disko" entry/);
    }
    await rm(dir, { recursive: true });
  });
});

it('a failed validation becomes one install error naming every problem', () => {
  const result = {
    checks: [
      { name: 'source', ok: true },
      { name: 'user', ok: false, error: { code: 'user-not-declared', title: 'User "x" is not in the configuration', description: 'd1' } },
      { name: 'desktop', ok: false, error: { code: 'desktop-mismatch', title: 'The configuration does not install the chosen desktop', description: 'd2' } },
    ],
  } as ValidationResult;
  const error = validationError(result);
  expect(error.code).toBe('user-not-declared');
  expect(error.title).toBe('User "x" is not in the configuration (and 1 more problem)');
  expect(error.description).toContain('d1');
  expect(error.description).toContain('d2');
});

describe("the choices page's lines, as the daemon words them for Calamares", () => {
  const checks = (failed: string[] = [], skipped: string[] = []) =>
    ['user', 'desktop'].map((name) => (failed.includes(name) ? { name, ok: false, error: { code: 'x', title: 't', description: 'd' } } : skipped.includes(name) ? { name, ok: true, skipped: 'no' } : { name, ok: true })) as ValidationResult['checks'];
  const timeZone = { setting: 'timeZone', option: 'time.timeZone', chosen: 'Europe/Berlin', result: 'UTC', applied: false };
  const hostName = { setting: 'hostName', option: 'networking.hostName', chosen: 'field-01', result: 'field-01', applied: true };

  it("names each choice as Calamares' pages do, and whether it applies", () => {
    expect(choicePageLines({ user: 'alice', desktop: 'gnome', checks: checks(), choices: [hostName, timeZone, { ...timeZone, setting: 'xkbLayout', option: 'services.xserver.xkb.layout', chosen: 'de', result: null }] })).toEqual([
      'User: alice (declared in the configuration)',
      'Desktop: gnome (the configured one)',
      'Computer name: field-01 (applies)',
      'Time zone: Europe/Berlin (does not apply: the configuration sets UTC, and it wins)',
      'Keyboard layout: de (does not apply: the configuration sets it otherwise, and it wins)',
    ]);
  });

  it('never shows a failed or skipped check as passed; no desktop is a line too', () => {
    expect(choicePageLines({ user: 'mallory', desktop: '', checks: checks(['user']), choices: [] })).toEqual(['Desktop: none (the configured one)']);
    expect(choicePageLines({ user: 'alice', desktop: 'gnome', checks: checks([], ['user', 'desktop']), choices: [] })).toEqual([]);
  });
});
