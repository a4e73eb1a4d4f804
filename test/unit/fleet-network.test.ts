// The fleet's values that need no network: the seed's address and the DHCP
// range derived from it, dnsmasq's configuration, and the fleet-serve request.
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/daemon/parse-request.js';
import { dnsmasqConfig } from '../../src/fleet/dnsmasq-config.js';
import { FleetError } from '../../src/fleet/fleet-error.js';
import { dhcpRange, parseCidr } from '../../src/fleet/network.js';
import { sameSecret } from '../../src/fleet/secret.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';

const v = PROTOCOL_VERSION;

function fieldOf(thunk: () => unknown): string | null {
  try {
    thunk();
    return null;
  } catch (error) {
    return error instanceof FleetError ? `${error.field}: ${error.title}` : String(error);
  }
}

describe('the seed address and the DHCP range', () => {
  it('leases from the upper half of the network, leaving the seed out', () => {
    expect(dhcpRange(parseCidr('10.77.0.1/24'))).toEqual({ start: '10.77.0.128', end: '10.77.0.254' });
    expect(dhcpRange(parseCidr('10.77.0.200/24'))).toEqual({ start: '10.77.0.201', end: '10.77.0.254' });
    expect(dhcpRange(parseCidr('10.77.0.254/24'))).toEqual({ start: '10.77.0.128', end: '10.77.0.253' });
    expect(dhcpRange(parseCidr('192.168.4.9/22'))).toEqual({ start: '192.168.6.0', end: '192.168.7.254' });
  });

  it('refuses what is not a host address of a network that fits a fleet, naming --address', () => {
    for (const bad of ['10.77.0.1', '10.77.0.1/33', '10.77.0.256/24', '10.77.0.1/24/1', '10.77.0.1/26', '10.0.0.0/8', '10.77.0.255/24', 'seed/24']) {
      expect(fieldOf(() => parseCidr(bad)), bad).toMatch(/^address: /);
    }
  });
});

describe("dnsmasq's configuration", () => {
  const plan = { interface: 'enp3s0', net: parseCidr('10.77.0.1/24'), tftpDir: '/run/x/tftp', scriptUrl: 'http://10.77.0.1:8470/netboot.ipxe', leaseFile: '/run/x/leases', pidFile: '/run/x/pid', user: 'fleet', group: 'fleet' };
  it('serves DHCP from the range, or proxy DHCP for the network, on the one interface', () => {
    const own = dnsmasqConfig({ ...plan, proxy: false }).split('\n');
    expect(own).toContain('dhcp-range=10.77.0.128,10.77.0.254,255.255.255.0,1h');
    expect(own).toContain('dhcp-boot=tag:ipxe,http://10.77.0.1:8470/netboot.ipxe');
    const proxy = dnsmasqConfig({ ...plan, proxy: true }).split('\n');
    expect(proxy).toContain('dhcp-range=10.77.0.0,proxy,255.255.255.0');
    // Proxy replies carry PXE services only: the ROM's iPXE binary, iPXE's script (test/e2e/fleet-pxe.test.ts boots it).
    expect(proxy.filter((l) => l.startsWith('pxe-service=') || l.startsWith('dhcp-boot='))).toEqual([
      'pxe-service=tag:!ipxe,x86PC,"iPXE",undionly.kpxe',
      'pxe-service=tag:!ipxe,X86-64_EFI,"iPXE",ipxe.efi',
      'pxe-service=tag:ipxe,x86PC,"NixOS fleet",http://10.77.0.1:8470/netboot.ipxe',
      'pxe-service=tag:ipxe,X86-64_EFI,"NixOS fleet",http://10.77.0.1:8470/netboot.ipxe',
    ]);
    expect(proxy.filter((l) => l.startsWith('interface='))).toEqual(['interface=enp3s0']);
    expect(proxy).toContain('port=0');
    // Not root once its ports are bound.
    expect(proxy.filter((l) => /^(user|group)=/.test(l))).toEqual(['user=fleet', 'group=fleet']);
  });
});

describe('the fleet-serve request', () => {
  it('takes an interface, an answers folder and the optional fields, and refuses bad ones by name', () => {
    const request = { v, id: 'f', interface: 'enp3s0', address: '10.77.0.1/24', answers: '/root/answers', port: 8470, ipxe: '/a', netboot: '/b' };
    expect(parseRequest('fleet-serve', request)).toEqual({ ok: true, value: { type: 'fleet-serve', request } });
    const field = (data: object) => {
      const result = parseRequest('fleet-serve', { ...request, ...data });
      return result.ok ? null : result.error.field;
    };
    expect(field({ interface: 'eth0; rm -rf /' })).toBe('interface');
    expect(field({ interface: '-i' })).toBe('interface');
    expect(field({ address: '10.77.0.1/24\ninterface=lo' })).toBe('address');
    expect(field({ answers: 'answers' })).toBe('answers');
    expect(field({ answers: undefined })).toBe('answers');
    expect(field({ port: 0 })).toBe('port');
    expect(field({ port: 8470.5 })).toBe('port');
    expect(field({ netboot: '/b\0' })).toBe('netboot');
    expect(field({ ipxe: '/a\ndhcp-range=0.0.0.0,255.255.255.255' })).toBe('ipxe');
    expect(field({ tftpRoot: '/' })).toBe('tftpRoot');
  });
});

describe("the fleet's secret", () => {
  it('matches only itself', () => {
    const secret = 'a'.repeat(64);
    expect(sameSecret(secret, secret)).toBe(true);
    for (const other of [undefined, '', 'a'.repeat(63), 'a'.repeat(65), 'b'.repeat(64)]) expect(sameSecret(other, secret)).toBe(false);
  });
});
