// The seed's HTTP server for its fleet, on the seed's address alone: the iPXE
// script and the netboot kernel and initrd (plain files, not a store protocol),
// registration (POST /targets), the targets' status (GET /targets), a target's
// own entry (GET /targets/<mac>: the seed's go), its reports (POST
// /targets/<mac>/report), its configuration for /etc/nixos (GET
// /targets/<mac>/config.tar) and its receipt (GET /receipts/<mac>.json), all only
// with the fleet's secret; and the live page at / (live-page.ts), which holds
// no secret. Requests are small and bounded.
import type { CipherGCM } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { INITRD, KERNEL } from './boot-files.js';
import { bearerToken, sameSecret } from './secret.js';
import { INSTALLER_DEFAULTS } from '../protocol/installer-defaults.js';
import type { SeedStoreAccess } from '../protocol/fleet.js';
import { SEALED_HEADER, seal, sealedHeader, sealer } from '../protocol/sealed.js';
import { servePage } from './live-page.js';
import { BadMessage, parseRegistration, parseReport } from './target-messages.js';
import { StateConflict, type TargetRegistry } from './targets.js';

// A registration carries the hardware probe (a few kB), a report the receipt.
const MAX_BODY_BYTES = 64 * 1024;
// A LAN of 50 targets needs few connections at once; slow or idle ones are closed.
const MAX_CONNECTIONS = 128;
const REQUEST_TIMEOUT_MS = 30_000;

export interface FleetHttp {
  script: string;
  kernel: string;
  initrd: string;
  secret: string;
  registry: TargetRegistry;
  // How a target with the go copies its system: the seed's store over ssh-ng (sshd.ts), its key and the seed's host key.
  store: SeedStoreAccess;
  // The fleet's client key for that store (OpenSSH private key file text): only ever sent sealed to a target's key.
  storeKey: string;
  // A target registered with a good answer file: the seed starts checking its system.
  registered: (mac: string) => void;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

function refuse(response: ServerResponse, status: number, code: string, title: string, description: string, field?: string): void {
  send(response, status, { error: { code, title, description, ...(field && { field }) } });
}

// PATH as the body, through THROUGH (a cipher) when given; a file that cannot be read is refused, or cut off once begun.
function sendFile(response: ServerResponse, path: string, what = 'a netboot file', through?: { headers: Record<string, string>; cipher: CipherGCM }): void {
  const stream = createReadStream(path);
  stream.once('error', () => (response.headersSent ? response.destroy() : refuse(response, 500, 'file-unreadable', `The seed cannot read ${what}`, `${path} could not be read.`)));
  stream.once('open', () => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', ...through?.headers });
    if (!through) return void stream.pipe(response);
    // The tag last, once the whole file went through.
    through.cipher.once('end', () => response.end(through.cipher.getAuthTag()));
    stream.pipe(through.cipher).pipe(response, { end: false });
  });
}

// The body as JSON, or why not; never more than MAX_BODY_BYTES is held.
function readJson(request: IncomingMessage): Promise<{ value: unknown } | { problem: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the bound nothing more is kept; the answer says so and the connection closes after it.
      if (size > MAX_BODY_BYTES) resolve({ problem: `the body is over ${MAX_BODY_BYTES} bytes` });
      else chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      try {
        resolve({ value: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      } catch {
        resolve({ problem: 'the body is not JSON' });
      }
    });
    request.on('error', () => resolve({ problem: 'the request broke off' }));
  });
}

// A bad body is told with the field and what is wrong, so a target's console can show it.
async function readMessage<T>(request: IncomingMessage, response: ServerResponse, parse: (value: unknown) => T, example: string): Promise<T | null> {
  const body = await readJson(request);
  if ('problem' in body) {
    response.setHeader('connection', 'close');
    refuse(response, 400, 'bad-message', 'The request could not be read', `${body.problem}; send ${example}.`);
    return null;
  }
  try {
    return parse(body.value);
  } catch (error) {
    if (!(error instanceof BadMessage)) throw error;
    refuse(response, 400, 'bad-message', `"${error.field || 'body'}" ${error.problem}`, `Send ${example}.`, error.field || undefined);
    return null;
  }
}

async function registerTarget(fleet: FleetHttp, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const registration = await readMessage(request, response, parseRegistration, '{"mac": "52:54:00:12:34:56", "hardware": {"config": ..., "firmware": "efi", "dmi": {...}}}');
  if (!registration) return;
  const { mac } = registration;
  if (fleet.registry.full && !fleet.registry.get(mac)) return refuse(response, 503, 'fleet-full', 'The fleet has as many targets as it takes', 'Serve the remaining machines as a new fleet.');
  const record = await fleet.registry.register(registration);
  const { target, answers } = record;
  fleet.log('target registered', { mac, state: target.state, answerFile: answers?.file ?? null, firmware: registration.hardware.firmware, error: target.error?.title ?? null });
  if (target.error) return send(response, 422, { target, error: target.error });
  send(response, 200, { target, answerFile: answers!.file, disk: answers!.disk });
  // After the answer: it says the target waits; the check begins now.
  fleet.registered(mac);
}

// A target's own entry: what it polls for the seed's go (the system to copy) or a refusal.
async function targetEntry(fleet: FleetHttp, mac: string, response: ServerResponse): Promise<void> {
  const record = fleet.registry.get(mac);
  if (!record) return refuse(response, 404, 'not-registered', `${mac} has not registered with this fleet`, 'A target registers first (POST /targets).');
  if (record.target.state !== 'installing') return send(response, 200, { target: record.target, go: null });
  const { passwordHash, ...answers } = record.answers!;
  let passphrase: string | null = null;
  if (answers.layout?.encrypt) {
    const { passphraseFile, passphraseBytes } = answers.layout.encrypt;
    // As the answer file's check measured it (its length less a newline); the file may have changed since.
    const bytes = await readFile(passphraseFile).catch(() => null);
    if (bytes === null || bytes.length < passphraseBytes) return refuse(response, 500, 'file-unreadable', `The seed cannot read the passphrase file ${passphraseFile}`, `It was read when ${mac} registered; put it back as it was, then restart the target.`);
    passphrase = bytes.subarray(0, passphraseBytes).toString('base64');
  }
  const sealed = seal({ privateKey: fleet.storeKey, passwordHash: passwordHash ?? null, passphrase }, record.sealKey);
  send(response, 200, { target: record.target, go: { system: record.system, closureBytes: record.closureBytes, closurePaths: record.closurePaths, closureHash: record.closureHash, closure: record.closure, checkWarnings: record.checkWarnings, answers, store: fleet.store, sealed, flakeInputs: record.flakeInputs, disko: record.disko } });
}

async function reportTarget(fleet: FleetHttp, mac: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const report = await readMessage(request, response, parseReport, '{"state": "installing", "phase": "copy", "fraction": 0.5, "bytesCopied": 0, "copyStartedMs": null, "copyEndedMs": null, "error": null}');
  if (!report) return;
  try {
    const target = await fleet.registry.report(mac, report);
    if (report.state !== 'installing' || target.phase !== report.phase) fleet.log('target reported', { mac, state: target.state, phase: target.phase, error: target.error?.title ?? null, receipt: target.receipt });
    send(response, 200, { target });
  } catch (error) {
    if (!(error instanceof StateConflict)) throw error;
    refuse(response, 409, 'bad-state', 'The report does not fit the target\'s state', error.message);
  }
}

// The configuration the seed checked and built for the target, for its /etc/nixos: only once it has the go.
function sendConfig(fleet: FleetHttp, mac: string, response: ServerResponse): void {
  const record = fleet.registry.get(mac);
  if (record?.target.state !== 'installing') return refuse(response, 409, 'bad-state', `${mac} has no go to install`, 'The seed serves a target its configuration once it has checked and built its system (GET /targets/<mac> says so).');
  // Sealed to the target's key as the go's secrets are: a configuration folder may hold its own (hashed passwords, keys).
  const { key, iv, cipher } = sealer(record.sealKey);
  sendFile(response, fleet.registry.configArchive(mac), `${mac}'s configuration`, { headers: { [SEALED_HEADER]: sealedHeader({ key, iv }) }, cipher });
}

// A succeeded target's receipt, as the seed kept it: the file the registry named (never a path made from the request).
async function sendReceipt(fleet: FleetHttp, mac: string, response: ServerResponse): Promise<void> {
  const file = fleet.registry.get(mac)?.target.receipt;
  if (!file) return refuse(response, 404, 'no-receipt', `${mac} has no receipt on this seed`, 'A target sends its receipt when it succeeds; GET /targets shows which have.');
  const text = await readFile(file, 'utf8');
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'content-disposition': `attachment; filename="receipt-${mac.replaceAll(':', '')}.json"` });
  response.end(text);
}

const MAC = '[0-9a-f]{2}(?::[0-9a-f]{2}){5}';
const TARGET_PATH = new RegExp(`^/targets/(${MAC})(/report|/config\\.tar)?$`);
const RECEIPT_PATH = new RegExp(`^/receipts/(${MAC})\\.json$`);

async function route(fleet: FleetHttp, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '').split('?')[0]!;
  const method = request.method ?? '';
  if (method === 'GET' && path === '/netboot.ipxe') {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    return void response.end(fleet.script);
  }
  if (method === 'GET' && path === `/${KERNEL}`) return sendFile(response, fleet.kernel);
  if (method === 'GET' && path === `/${INITRD}`) return sendFile(response, fleet.initrd);
  if (method === 'GET' && servePage(path, response)) return;
  const one = TARGET_PATH.exec(path);
  const receipt = RECEIPT_PATH.exec(path);
  if (path !== '/targets' && !one && !receipt) return refuse(response, 404, 'not-found', 'Nothing here', 'The seed serves its live page at /, /netboot.ipxe, the netboot files, /targets, /targets/<mac>, /targets/<mac>/report, /targets/<mac>/config.tar and /receipts/<mac>.json.');
  const allowed = receipt ? ['GET'] : !one ? ['GET', 'POST'] : one[2] === '/report' ? ['POST'] : ['GET'];
  if (!allowed.includes(method)) return refuse(response, 405, 'bad-method', `${method.slice(0, 16)} is not served`, `${path} takes ${allowed.join(' and ')}.`);
  if (!sameSecret(bearerToken(request.headers.authorization), fleet.secret)) {
    // No client address: behind the HTTP front every peer is the proxy on a Unix socket; the path names the target, if any.
    fleet.log('refused a request without the fleet secret', { method, path });
    return refuse(response, 403, 'bad-secret', "The fleet's secret is missing or wrong", `Send it as Authorization: Bearer <secret>; a netbooted target has it on its kernel command line (${INSTALLER_DEFAULTS.fleet.secretParam}), fleet serve prints it.`);
  }
  if (receipt) return sendReceipt(fleet, receipt[1]!, response);
  if (one?.[2] === '/config.tar') return sendConfig(fleet, one[1]!, response);
  if (one) return one[2] ? reportTarget(fleet, one[1]!, request, response) : targetEntry(fleet, one[1]!, response);
  if (method === 'GET') return send(response, 200, { targets: fleet.registry.list() });
  return registerTarget(fleet, request, response);
}

// On a Unix socket: the fleet's HTTP front (http-front.ts) forwards the seed's port to it.
export function startHttp(fleet: FleetHttp, socketPath: string): Promise<Server> {
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, maxHeaderSize: 8 * 1024 }, (request, response) => {
    route(fleet, request, response).catch((error: unknown) => {
      fleet.log('a fleet request failed', { err: String(error) });
      if (!response.headersSent) refuse(response, 500, 'internal-error', 'The seed hit an unexpected error', 'The daemon journal says why.');
      else response.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: socketPath, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function stopHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
