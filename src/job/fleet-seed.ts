// A fleet target's side of the seed's HTTP endpoints (docs/protocol.md, "The
// fleet's HTTP endpoints"): registering with this machine's MAC and hardware
// probe, waiting for the seed's go, and reporting progress and the end.
import type { KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DiskIds } from '../disk/disk-ids.js';
import { toNumber } from '../protocol/ipv4.js';
import type { FleetGo, FleetReport, FleetTarget, TargetHardware } from '../protocol/fleet.js';
import { SEALED_HEADER, TAG_BYTES, opener, parseSealedHeader, type GoSecrets } from '../protocol/sealed.js';
import { InstallCancelled, InstallError, errorMessage } from '../common/install-error.js';

const REQUEST_TIMEOUT_MS = 20_000;
// A download (the configuration: up to a few GB, on links down to a few Mbit/s) takes as long as it keeps moving;
// one that brings nothing for this long (a seed gone, a cable pulled) is ended.
export const DOWNLOAD_STALL_MS = 60_000;
// How often the target asks whether the seed has checked and built its system.
const POLL_MS = 2_000;

// The MAC of the interface on the seed's network (the one the target booted from), lower case with colons.
export function macTowards(seedHost: string): string {
  const seed = toNumber(seedHost);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const mask = toNumber(a.netmask);
      if ((toNumber(a.address) & mask) >>> 0 === (seed & mask) >>> 0) return a.mac.toLowerCase();
    }
  }
  throw new InstallError('fleet-unreachable', `No interface of this machine is on the seed's network (${seedHost})`, 'A netbooted target gets its address from the seed; check the cable and that fleet serve runs, then network-boot again.');
}

async function dmiField(name: string): Promise<string | null> {
  const text = await readFile(`/sys/class/dmi/id/${name}`, 'utf8').catch(() => null);
  const value = text?.trim().replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 128);
  return value ? value : null;
}

export async function readDmi(): Promise<TargetHardware['dmi']> {
  return { vendor: await dmiField('sys_vendor'), product: await dmiField('product_name'), serial: await dmiField('product_serial') };
}

// A fleet target's install as it goes: the seed, its go, the copy's figures and each phase's times (for the receipt).
export interface FleetRun {
  client: SeedClient;
  go: FleetGo | null;
  // This install's key (the private half of what it registered with), and the go's sealed part opened with it.
  key: KeyObject;
  secrets: GoSecrets | null;
  // This install's private folder for the LUKS passphrase (in memory on a netbooted target), removed at its end.
  privateDir: string | null;
  copyStartedMs: number | null;
  copyEndedMs: number | null;
  bytesCopied: number;
  phases: { phase: string; startedMs: number; endedMs: number | null }[];
  // For the receipt: the machine's DMI (as registered) and its disk's identities once installed.
  dmi: TargetHardware['dmi'];
  diskIds: DiskIds | null;
}

// WHAT (sealed to this machine's key by the seed at URL) did not open: it was sealed to another key or changed on the way.
export function sealRefused(what: string, url: string): InstallError {
  return new InstallError('fleet-refused', `${what} from the seed could not be opened`, `It was not sealed to the key this machine registered with, or was changed on the way: something on the fleet's network may be answering in place of the seed at ${url}. Check that only the seed serves this network, then network-boot this machine again.`);
}

// SEALED (a download from the seed at URL whose seal header was HEADER: ciphertext, then the tag) opened with KEY into
// FILE (new, root's only); sealRefused when it was not sealed to KEY or was changed on the way (FILE may then hold a
// part: discard it).
export async function openSealedFile(sealed: string, file: string, header: string | null, key: KeyObject, what: string, url: string): Promise<void> {
  const notOpened = () => sealRefused(what, url);
  const parsed = parseSealedHeader(header);
  const { size } = await stat(sealed);
  if (!parsed || size <= TAG_BYTES) throw notOpened();
  const tag = Buffer.alloc(TAG_BYTES);
  const handle = await open(sealed, 'r');
  try {
    await handle.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
  } finally {
    await handle.close();
  }
  try {
    await pipeline(createReadStream(sealed, { end: size - TAG_BYTES - 1 }), opener(parsed, key, tag), createWriteStream(file, { mode: 0o600, flags: 'wx' }));
  } catch {
    throw notOpened();
  }
}

export class SeedClient {
  readonly host: string;

  constructor(
    readonly url: string,
    private readonly secret: string,
    readonly mac: string,
  ) {
    this.host = new URL(url).hostname;
  }

  private async call(path: string, body?: unknown): Promise<{ status: number; json: any }> {
    try {
      const response = await fetch(`${this.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${this.secret}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return { status: response.status, json: await response.json().catch(() => null) };
    } catch (error) {
      throw this.notAnswering(error);
    }
  }

  // A request that could not reach the seed (ERROR, fetch's).
  private notAnswering(error: unknown): InstallError {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? errorMessage(error);
    return new InstallError('fleet-unreachable', `The seed at ${this.url} does not answer`, `${cause}. Check that fleet serve runs there and that this machine is on its network; then network-boot it again.`);
  }

  private refused(what: string, reply: { status: number; json: any }): InstallError {
    const error = reply.json?.error;
    return new InstallError(error?.code ?? 'fleet-refused', `The seed refused ${what}: ${error?.title ?? `it answered ${reply.status}`}`, error?.description ?? 'fleet serve on the seed says more (its journal).');
  }

  async register(hardware: TargetHardware, sealKey: string): Promise<{ answerFile: string; disk: string }> {
    const reply = await this.call('/targets', { mac: this.mac, hardware, sealKey });
    if (reply.status !== 200) throw this.refused(`${this.mac}'s registration`, reply);
    return { answerFile: reply.json.answerFile, disk: reply.json.disk };
  }

  // Until the seed has checked and built this machine's system (the go), or refused it (its error is this install's).
  async waitForGo(signal: AbortSignal, waiting: (target: FleetTarget) => void): Promise<FleetGo> {
    for (;;) {
      if (signal.aborted) throw new InstallCancelled();
      const reply = await this.call(`/targets/${this.mac}`);
      if (reply.status !== 200) throw this.refused(`to say how far ${this.mac} is`, reply);
      const target = reply.json.target as FleetTarget;
      if (target.state === 'failed' && target.error) throw new InstallError(target.error.code, `The seed refused this machine: ${target.error.title}`, target.error.description, target.error.field);
      if (reply.json.go) return reply.json.go as FleetGo;
      waiting(target);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  // The seed's file at PATH into FILE (new, root's only), ended by SIGNAL or by STALL_MS without a byte; its seal
  // header, if any.
  async download(path: string, file: string, what: string, signal: AbortSignal, stallMs = DOWNLOAD_STALL_MS): Promise<string | null> {
    const stalled = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const moved = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stalled.abort(), stallMs);
    };
    const broke = (error: unknown, how: string) => {
      if (signal.aborted) return new InstallCancelled();
      const why = stalled.signal.aborted ? `Nothing came from it for ${stallMs / 1000} s` : errorMessage(error);
      return new InstallError('fleet-unreachable', `${what.charAt(0).toUpperCase()}${what.slice(1)} from the seed at ${this.url} ${how}`, `${why}. Check the cable and that fleet serve still runs; then network-boot this machine again.`);
    };
    moved();
    try {
      let response: Response;
      try {
        response = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.secret}` }, signal: AbortSignal.any([signal, stalled.signal]) });
      } catch (error) {
        throw signal.aborted || stalled.signal.aborted ? broke(error, 'did not start') : this.notAnswering(error);
      }
      if (response.status !== 200 || !response.body) throw this.refused(what, { status: response.status, json: await response.json().catch(() => null) });
      try {
        const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
        await pipeline(body, async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            moved();
            yield chunk;
          }
        }, createWriteStream(file, { mode: 0o600, flags: 'wx' }));
      } catch (error) {
        throw broke(error, 'broke off');
      }
      return response.headers.get(SEALED_HEADER);
    } finally {
      clearTimeout(timer);
    }
  }

  // What the seed shows; a report that does not arrive never stops the install (the next one says more).
  async report(report: FleetReport): Promise<string | null> {
    try {
      const reply = await this.call(`/targets/${this.mac}/report`, report);
      return reply.status === 200 ? null : `${reply.status} ${reply.json?.error?.title ?? ''}`;
    } catch (error) {
      return errorMessage(error);
    }
  }
}
