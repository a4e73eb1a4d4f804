// The units the fleet's servers run in under systemd (src/fleet/fleet-units.ts):
// each property says why, each server gets only the capabilities it needs, no
// IP traffic leaves the fleet's network, and systemd itself accepts the units
// (systemd-analyze verify, with the daemon's real unit beside them).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DAEMON_UNIT, DHCP_UNIT, HTTP_UNIT, STORE_UNIT, dhcpUnit, httpUnit, storeUnit, systemdRun, unitFile, type UnitProperty } from '../../src/fleet/fleet-units.js';
import { parseCidr } from '../../src/fleet/network.js';
import { REPO } from '../helpers/env.js';

const net = parseCidr('10.77.0.1/24');
const user = { name: 'nixos-offline-installer-fleet', group: 'nixos-offline-installer-fleet' };
const dhcp = dhcpUnit(net, '/run/nixos-offline-installer-fleet');
const http = httpUnit(net, user);
const store = storeUnit(net, '/run/nixos-offline-installer-fleet');
const value = (unit: UnitProperty[], key: string) => unit.filter((p) => p.key === key).map((p) => p.value);
const dir = mkdtempSync(join(tmpdir(), 'noi-fleet-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// systemd-analyze verify on UNITS (name -> text), beside the daemon's own unit; what it complained of.
function verify(units: Record<string, string>): { code: number | null; complaints: string } {
  copyFileSync(join(REPO, 'systemd', DAEMON_UNIT), join(dir, DAEMON_UNIT));
  for (const [name, text] of Object.entries(units)) writeFileSync(join(dir, `${name}.service`), text);
  const run = spawnSync('systemd-analyze', ['verify', '--man=no', ...Object.keys(units).map((name) => `./${name}.service`)], { cwd: dir, encoding: 'utf8' });
  if (run.error) throw new Error(`systemd-analyze could not run (${run.error.message}): the test beds have it from the systemd package`);
  return { code: run.status, complaints: `${run.stdout}${run.stderr}`.trim() };
}

describe("the fleet's units", () => {
  it('say why for every property', () => {
    for (const property of [...dhcp, ...http, ...store]) expect(property.why.length, `${property.key}=${property.value}`).toBeGreaterThan(10);
  });

  it('give dnsmasq only what binding, DHCP and dropping to the fleet user need, and the HTTP front only a low port', () => {
    expect(value(dhcp, 'CapabilityBoundingSet')[0]!.split(' ').sort()).toEqual(['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID']);
    expect(value(dhcp, 'AmbientCapabilities')).toEqual([]);
    expect(value(http, 'CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(value(http, 'User')).toEqual([user.name]);
    expect(value(dhcp, 'ReadWritePaths')).toEqual(['/run/nixos-offline-installer-fleet']);
  });

  it("give the store's sshd its privilege separation and the forced command's setpriv, as root, and nothing to read others' files with", () => {
    expect(value(store, 'CapabilityBoundingSet')[0]!.split(' ').sort()).toEqual(['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_CHROOT']);
    expect(value(store, 'User')).toEqual([]);
    expect(value(store, 'AmbientCapabilities')).toEqual([]);
    expect(value(store, 'RestrictAddressFamilies')).toEqual(['AF_INET AF_UNIX']);
    expect(value(store, 'ReadWritePaths')).toEqual(['/run/nixos-offline-installer-fleet']);
    expect(systemdRun(STORE_UNIT, store, ['/usr/sbin/sshd'])).toContain("NixOS offline installer: the fleet's store (sshd) server");
  });

  it("let no IP traffic past the fleet's network, and end with the daemon", () => {
    for (const unit of [dhcp, http, store]) {
      expect(value(unit, 'IPAddressDeny')).toEqual(['any']);
      expect(value(unit, 'IPAddressAllow')).toEqual(['10.77.0.0/24 0.0.0.0/32 255.255.255.255/32']);
      expect(value(unit, 'BindsTo')).toEqual([DAEMON_UNIT]);
      expect(value(unit, 'RestrictAddressFamilies')[0]!.split(' ')).not.toContain('AF_PACKET');
    }
  });

  it("are started by systemd-run with the daemon's pipes, every property passed on", () => {
    const argv = systemdRun(DHCP_UNIT, dhcp, ['dnsmasq', '--keep-in-foreground']);
    expect(argv.slice(0, 2)).toEqual(['--unit', DHCP_UNIT]);
    expect(argv).toEqual(expect.arrayContaining(['--pipe', '--wait', '--collect']));
    expect(argv.slice(-3)).toEqual(['--', 'dnsmasq', '--keep-in-foreground']);
    expect(argv.filter((a, i) => argv[i - 1] === '--property')).toEqual(dhcp.map((p) => `${p.key}=${p.value}`));
  });

  it('are accepted by systemd-analyze verify', () => {
    const result = verify({
      [DHCP_UNIT]: unitFile(DHCP_UNIT, dhcp, ['/usr/sbin/dnsmasq', '--keep-in-foreground']),
      [STORE_UNIT]: unitFile(STORE_UNIT, store, ['/usr/sbin/sshd', '-D', '-e', '-f', '/run/nixos-offline-installer-fleet/ssh/sshd_config']),
      [HTTP_UNIT]: unitFile(HTTP_UNIT, http, ['/usr/bin/systemd-socket-activate', '--listen=10.77.0.1:8470', '--', '/usr/lib/systemd/systemd-socket-proxyd', '/run/nixos-offline-installer-fleet/http.sock']),
    });
    expect(result.complaints).toBe('');
    expect(result.code).toBe(0);
  });

  it('(the check sees a property systemd would ignore)', () => {
    const broken = dhcp.map((p) => (p.key === 'ProtectSystem' ? { ...p, value: 'stricter' } : p));
    expect(verify({ broken: unitFile('broken', broken, ['/usr/sbin/dnsmasq']) }).complaints).toContain('stricter');
  });
});
