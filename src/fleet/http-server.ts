// The seed's HTTP server for its fleet, on the seed's address alone: the iPXE
// script and the netboot kernel and initrd (plain files, not a store protocol),
// registration (POST /targets) and the targets' status (GET /targets), both
// only with the fleet's secret. Requests are small and bounded.
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { INITRD, KERNEL } from './boot-files.js';
import { bearerToken, sameSecret } from './secret.js';
import { MAC_ADDRESS, type TargetRegistry } from './targets.js';

const MAX_BODY_BYTES = 16 * 1024;
// A LAN of 50 targets needs few connections at once; slow or idle ones are closed.
const MAX_CONNECTIONS = 128;
const REQUEST_TIMEOUT_MS = 30_000;

export interface FleetHttp {
  script: string;
  kernel: string;
  initrd: string;
  secret: string;
  registry: TargetRegistry;
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

function sendFile(response: ServerResponse, path: string): void {
  const stream = createReadStream(path);
  stream.once('error', () => refuse(response, 500, 'file-unreadable', 'The seed cannot read a netboot file', `${path} could not be read.`));
  stream.once('open', () => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    stream.pipe(response);
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

async function registerTarget(fleet: FleetHttp, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJson(request);
  if ('problem' in body) {
    response.setHeader('connection', 'close');
    return refuse(response, 400, 'bad-registration', 'The registration could not be read', `${body.problem}; send {"mac": "52:54:00:12:34:56"}.`);
  }
  const value = body.value as Record<string, unknown> | null;
  const unknown = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value).find((key) => key !== 'mac' && key !== 'hardware') : 'mac';
  if (unknown !== undefined) return refuse(response, 400, 'bad-registration', `Unknown field "${unknown.slice(0, 32)}"`, 'A registration has the fields mac and hardware.', unknown.slice(0, 32));
  const mac = value!.mac;
  if (typeof mac !== 'string' || !MAC_ADDRESS.test(mac)) return refuse(response, 400, 'bad-registration', 'The MAC address is not one', '"mac" must be six lower-case hex pairs joined by colons, e.g. "52:54:00:12:34:56".', 'mac');
  if (fleet.registry.full && !fleet.registry.list().some((t) => t.mac === mac)) return refuse(response, 503, 'fleet-full', 'The fleet has as many targets as it takes', 'Serve the remaining machines as a new fleet.');
  const registration = await fleet.registry.register(mac);
  fleet.log('target registered', { mac, state: registration.target.state, answerFile: registration.answerFile, error: registration.target.error?.title ?? null });
  if (registration.target.error) return send(response, 422, { target: registration.target, error: registration.target.error });
  send(response, 200, { target: registration.target, answerFile: registration.answerFile, disk: registration.disk });
}

async function route(fleet: FleetHttp, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '').split('?')[0];
  const method = request.method ?? '';
  if (method === 'GET' && path === '/netboot.ipxe') {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    return void response.end(fleet.script);
  }
  if (method === 'GET' && path === `/${KERNEL}`) return sendFile(response, fleet.kernel);
  if (method === 'GET' && path === `/${INITRD}`) return sendFile(response, fleet.initrd);
  if (path !== '/targets') return refuse(response, 404, 'not-found', 'Nothing here', 'The seed serves /netboot.ipxe, the netboot files and /targets.');
  if (method !== 'GET' && method !== 'POST') return refuse(response, 405, 'bad-method', `${method.slice(0, 16)} is not served`, '/targets takes GET and POST.');
  if (!sameSecret(bearerToken(request.headers.authorization), fleet.secret)) {
    fleet.log('refused a request without the fleet secret', { method, path, from: request.socket.remoteAddress });
    return refuse(response, 403, 'bad-secret', "The fleet's secret is missing or wrong", "Send it as Authorization: Bearer <secret>; a netbooted target has it on its kernel command line (nixos-offline-installer.fleet-secret).");
  }
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
