// What a target sends the seed, checked field by field before anything of it
// is kept: its registration (MAC and hardware probe) and its reports. Nothing
// a target sends names a file on the seed or is run there as root; the probe
// is Nix text the seed's eval user evaluates (never root), as a local probe's.
import type { FleetRegistration, FleetReport, TargetError, TargetHardware } from '../protocol/fleet.js';
import { PHASES } from '../protocol/install-phases.js';
import { isSealKey } from '../protocol/sealed.js';

// Lower case, colons: the form answer files are named by (DIR/<mac>.json).
export const MAC_ADDRESS = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
// nixos-generate-config's output is a few kB; far more is not a probe.
const MAX_PROBE_CHARS = 32 * 1024;
const MAX_DMI_CHARS = 128;
const MAX_ERROR_CHARS = 4096;
// Control characters other than newline and tab never belong in what is shown on the seed.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

export class BadMessage extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

function record(value: unknown, field: string, keys: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadMessage(field, 'is not a JSON object');
  const found = value as Record<string, unknown>;
  const unknown = Object.keys(found).find((key) => !keys.includes(key));
  if (unknown !== undefined) throw new BadMessage(`${field ? `${field}.` : ''}${unknown.slice(0, 32)}`, `is not a field (${keys.join(', ')})`);
  const missing = required.find((key) => !(key in found));
  if (missing !== undefined) throw new BadMessage(`${field ? `${field}.` : ''}${missing}`, 'is missing');
  return found;
}

function text(value: unknown, field: string, max: number, nullable: true): string | null;
function text(value: unknown, field: string, max: number, nullable?: false): string;
function text(value: unknown, field: string, max: number, nullable = false): string | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'string') throw new BadMessage(field, nullable ? 'is not a string or null' : 'is not a string');
  if (value.length > max) throw new BadMessage(field, `is longer than ${max} characters`);
  if (CONTROL.test(value)) throw new BadMessage(field, 'holds control characters');
  return value;
}

function count(value: unknown, field: string, nullable: boolean): number | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new BadMessage(field, 'is not a whole number of at least 0');
  return value;
}

function hardware(value: unknown): TargetHardware {
  const found = record(value, 'hardware', ['config', 'firmware', 'dmi'], ['config', 'firmware', 'dmi']);
  const config = text(found.config, 'hardware.config', MAX_PROBE_CHARS);
  // The seed adds declarations inside its top-level attribute set, as it does to a local probe's.
  if (!config.includes('{') || config.lastIndexOf('}') < config.indexOf('{')) throw new BadMessage('hardware.config', 'is not what nixos-generate-config --show-hardware-config prints (no attribute set)');
  if (found.firmware !== 'efi' && found.firmware !== 'bios') throw new BadMessage('hardware.firmware', 'is neither "efi" nor "bios"');
  const dmi = record(found.dmi, 'hardware.dmi', ['vendor', 'product', 'serial'], ['vendor', 'product', 'serial']);
  return {
    config,
    firmware: found.firmware,
    dmi: { vendor: text(dmi.vendor, 'hardware.dmi.vendor', MAX_DMI_CHARS, true), product: text(dmi.product, 'hardware.dmi.product', MAX_DMI_CHARS, true), serial: text(dmi.serial, 'hardware.dmi.serial', MAX_DMI_CHARS, true) },
  };
}

export function parseRegistration(value: unknown): FleetRegistration {
  const found = record(value, '', ['mac', 'hardware', 'sealKey'], ['mac', 'hardware', 'sealKey']);
  if (typeof found.mac !== 'string' || !MAC_ADDRESS.test(found.mac)) throw new BadMessage('mac', 'is not six lower-case hex pairs joined by colons, e.g. "52:54:00:12:34:56"');
  if (typeof found.sealKey !== 'string' || !isSealKey(found.sealKey)) throw new BadMessage('sealKey', 'is not an X25519 public key (43 characters of base64url)');
  return { mac: found.mac, hardware: hardware(found.hardware), sealKey: found.sealKey };
}

function targetError(value: unknown): TargetError | null {
  if (value === null) return null;
  const found = record(value, 'error', ['code', 'title', 'description', 'field'], ['code', 'title', 'description']);
  return {
    code: text(found.code, 'error.code', 64),
    title: text(found.title, 'error.title', MAX_ERROR_CHARS),
    description: text(found.description, 'error.description', MAX_ERROR_CHARS),
    ...(found.field !== undefined && { field: text(found.field, 'error.field', 128) }),
  };
}

export function parseReport(value: unknown): FleetReport {
  const found = record(value, '', ['state', 'phase', 'fraction', 'bytesCopied', 'copyStartedMs', 'copyEndedMs', 'error', 'receipt'], ['state', 'phase', 'fraction', 'bytesCopied', 'copyStartedMs', 'copyEndedMs', 'error']);
  const state = found.state;
  if (state !== 'installing' && state !== 'succeeded' && state !== 'failed') throw new BadMessage('state', 'is not one of installing, succeeded, failed (a target reports only these)');
  const phase = found.phase === null ? null : text(found.phase, 'phase', 32);
  if (phase !== null && !(PHASES as readonly string[]).includes(phase)) throw new BadMessage('phase', `is not an install phase (${PHASES.join(', ')})`);
  const fraction = found.fraction;
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) throw new BadMessage('fraction', 'is not a number from 0 to 1');
  const error = targetError(found.error);
  if ((state === 'failed') !== (error !== null)) throw new BadMessage('error', state === 'failed' ? 'is missing: a failed target says why' : 'is given, but the state is not failed');
  const receipt = found.receipt;
  if (receipt !== undefined && (state !== 'succeeded' || receipt === null || typeof receipt !== 'object' || Array.isArray(receipt))) throw new BadMessage('receipt', 'is a JSON object sent with the state succeeded only');
  if (state === 'succeeded' && receipt === undefined) throw new BadMessage('receipt', 'is missing: a target that succeeded sends its receipt');
  return {
    state,
    phase,
    fraction,
    bytesCopied: count(found.bytesCopied, 'bytesCopied', false)!,
    copyStartedMs: count(found.copyStartedMs, 'copyStartedMs', true),
    copyEndedMs: count(found.copyEndedMs, 'copyEndedMs', true),
    error,
    ...(receipt !== undefined && { receipt: receipt as Record<string, unknown> }),
  };
}
