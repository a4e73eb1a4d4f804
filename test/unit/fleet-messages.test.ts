// What a fleet target sends the seed, checked before anything of it is kept:
// each refusal names the field, so the target's console can say what was wrong.
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/daemon/parse-request.js';
import { BadMessage, parseRegistration, parseReport } from '../../src/fleet/target-messages.js';
import { sealKeyPair } from '../../src/protocol/sealed.js';
import { seedUrl } from '../../src/protocol/fleet.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';

const HARDWARE = { config: '{ ... }:\n{\n}\n', firmware: 'bios', dmi: { vendor: 'QEMU', product: null, serial: 'S123' } };
const SEAL_KEY = sealKeyPair().publicKey;
const REPORT = { state: 'installing', phase: 'copy', fraction: 0.25, bytesCopied: 1000, copyStartedMs: 5, copyEndedMs: null, error: null };

function refusedField(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof BadMessage) return error.field;
    throw error;
  }
  throw new Error('it was accepted');
}

describe('registration', () => {
  const base = { mac: '52:54:00:12:34:56', hardware: HARDWARE, sealKey: SEAL_KEY };
  it('takes a MAC, a hardware probe and the key the go is sealed to', () => {
    expect(parseRegistration(base)).toEqual(base);
  });

  it('refuses what is not a registration, naming the field', () => {
    expect(refusedField(() => parseRegistration({ mac: '52:54:00:12:34:56', sealKey: SEAL_KEY }))).toBe('hardware');
    expect(refusedField(() => parseRegistration({ mac: '52:54:00:12:34:56', hardware: HARDWARE }))).toBe('sealKey');
    expect(refusedField(() => parseRegistration({ ...base, sealKey: 'ssh-ed25519 AAAA' }))).toBe('sealKey');
    expect(refusedField(() => parseRegistration({ ...base, mac: '52:54:00:12:34:5G' }))).toBe('mac');
    expect(refusedField(() => parseRegistration({ ...base, disk: '/dev/sda' }))).toBe('disk');
    expect(refusedField(() => parseRegistration({ ...base, hardware: { ...HARDWARE, config: '}{' } }))).toBe('hardware.config');
    expect(refusedField(() => parseRegistration({ ...base, hardware: { ...HARDWARE, config: `{${'x'.repeat(40_000)}}` } }))).toBe('hardware.config');
    expect(refusedField(() => parseRegistration({ ...base, hardware: { ...HARDWARE, firmware: 'EFI' } }))).toBe('hardware.firmware');
    expect(refusedField(() => parseRegistration({ ...base, hardware: { ...HARDWARE, dmi: { vendor: null, product: null } } }))).toBe('hardware.dmi.serial');
    expect(refusedField(() => parseRegistration({ ...base, hardware: { ...HARDWARE, dmi: { ...HARDWARE.dmi, vendor: 'a\u0007b' } } }))).toBe('hardware.dmi.vendor');
  });
});

describe('reports', () => {
  it('takes progress, a failure with its error, and an end with its receipt', () => {
    expect(parseReport(REPORT)).toEqual(REPORT);
    const error = { code: 'disk-busy', title: '/dev/sda is mounted', description: 'Unmount it.' };
    expect(parseReport({ ...REPORT, state: 'failed', error }).error).toEqual(error);
    expect(parseReport({ ...REPORT, state: 'succeeded', fraction: 1, receipt: { system: '/nix/store/x' } }).receipt).toEqual({ system: '/nix/store/x' });
  });

  it('refuses a report that does not hold together, naming the field', () => {
    expect(refusedField(() => parseReport({ ...REPORT, state: 'checking' }))).toBe('state');
    expect(refusedField(() => parseReport({ ...REPORT, phase: 'dance' }))).toBe('phase');
    expect(refusedField(() => parseReport({ ...REPORT, fraction: 1.5 }))).toBe('fraction');
    expect(refusedField(() => parseReport({ ...REPORT, bytesCopied: -1 }))).toBe('bytesCopied');
    expect(refusedField(() => parseReport({ ...REPORT, copyEndedMs: 1.5 }))).toBe('copyEndedMs');
    expect(refusedField(() => parseReport({ ...REPORT, state: 'failed' }))).toBe('error');
    expect(refusedField(() => parseReport({ ...REPORT, error: { code: 'x', title: 'x', description: 'x' } }))).toBe('error');
    expect(refusedField(() => parseReport({ ...REPORT, state: 'succeeded' }))).toBe('receipt');
    expect(refusedField(() => parseReport({ ...REPORT, receipt: {} }))).toBe('receipt');
    expect(refusedField(() => parseReport({ ...REPORT, state: 'failed', error: { code: 'x', title: 'x', description: 'x', extra: 1 } }))).toBe('error.extra');
  });
});

describe("a fleet target's install request", () => {
  const fleet = { url: 'http://10.77.0.1:8470', secret: 'a'.repeat(64) };
  const base = { v: PROTOCOL_VERSION, id: 'x' };

  it('takes the seed and the secret, and nothing else', () => {
    expect(parseRequest('install', { ...base, fleet })).toEqual({ ok: true, value: { type: 'install', request: { ...base, fleet } } });
    for (const [extra, field] of [[{ root: '/mnt' }, 'root'], [{ answers: '/a.json' }, 'answers'], [{ user: 'alice' }, 'user']] as const) {
      const result = parseRequest('install', { ...base, fleet, ...extra });
      expect(result.ok ? null : result.error.field).toBe(field);
    }
    for (const bad of [{ url: 'http://seed:8470', secret: 'x' }, { url: 'http://10.77.0.256:8470', secret: 'x' }, { url: fleet.url, secret: 'has space' }, { ...fleet, extra: 1 }, 'http://10.77.0.1:8470']) {
      const result = parseRequest('install', { ...base, fleet: bad });
      expect(result.ok ? null : result.error.field, JSON.stringify(bad)).toBe('fleet');
    }
  });
});

describe("the seed's URL", () => {
  it('has one form, whether given with or without the default port and a trailing slash', () => {
    for (const given of ['http://10.77.0.1:8470', 'http://10.77.0.1:8470/', 'http://10.77.0.1', 'http://10.77.0.1/']) expect(seedUrl(given), given).toBe('http://10.77.0.1:8470');
    expect(seedUrl('http://10.77.0.1:08471')).toBe('http://10.77.0.1:8471');
    const base = { v: PROTOCOL_VERSION, id: 'x' };
    const result = parseRequest('install', { ...base, fleet: { url: 'http://10.77.0.1/', secret: 's' } });
    expect(result).toEqual({ ok: true, value: { type: 'install', request: { ...base, fleet: { url: 'http://10.77.0.1:8470', secret: 's' } } } });
  });

  it('is refused with a host name, an octet or port out of range, a path, or another scheme', () => {
    for (const bad of ['http://seed:8470', 'http://10.77.0.300:8470', 'http://10.77.0.1:0', 'http://10.77.0.1:65536', 'http://10.77.0.1:8470/targets', 'https://10.77.0.1:8470', ' http://10.77.0.1:8470', 'http://10.77.1:8470']) {
      expect(seedUrl(bad), bad).toBeNull();
    }
  });
});
