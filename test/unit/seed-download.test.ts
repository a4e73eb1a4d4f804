// A fleet target's download from the seed (SeedClient.download, src/job/fleet-seed.ts) against a real HTTP server on
// loopback: one that keeps moving may take as long as it needs, one that stops bringing bytes is ended and its
// connection closed, and the caller's cancel ends it as a cancel.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallCancelled, InstallError } from '../../src/common/install-error.js';
import { SeedClient } from '../../src/job/fleet-seed.js';

const STALL_MS = 400;
const CHUNK = Buffer.alloc(1000, 'x');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Each request's path says how the seed answers; closed says which requests the client ended.
const closed = new Set<string>();
const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
  request.socket.on('close', () => closed.add(request.url!));
  if (request.url === '/silent') return;
  response.writeHead(200, { 'content-type': 'application/octet-stream' });
  if (request.url === '/slow') {
    // Ten chunks a third of the stall time apart: the whole takes several stall times, and never stalls.
    for (let i = 0; i < 10; i++) {
      response.write(CHUNK);
      await sleep(STALL_MS / 3);
    }
    response.end();
  } else response.write(CHUNK); // /stalls: one chunk, then nothing
});
let url: string;
let dir: string;

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'seed-download-'));
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

const client = () => new SeedClient(url, 'secret', '52:54:00:00:00:01');

describe('a download from the seed', () => {
  it('that keeps moving is taken whole, however long it takes', async () => {
    await client().download('/slow', join(dir, 'slow'), 'the configuration', new AbortController().signal, STALL_MS);
    expect((await readFile(join(dir, 'slow'))).length).toBe(10 * CHUNK.length);
  });

  it('that stops bringing bytes is ended, says so, and its connection is closed', async () => {
    const error = await client().download('/stalls', join(dir, 'stalls'), 'the configuration', new AbortController().signal, STALL_MS).catch((e) => e);
    expect(error).toBeInstanceOf(InstallError);
    expect(error).toMatchObject({ code: 'fleet-unreachable', title: `The configuration from the seed at ${url} broke off` });
    expect(error.description).toContain(`Nothing came from it for ${STALL_MS / 1000} s`);
    await expect.poll(() => closed.has('/stalls')).toBe(true);
  });

  it('whose answer never starts is ended the same way', async () => {
    const error = await client().download('/silent', join(dir, 'silent'), 'the configuration', new AbortController().signal, STALL_MS).catch((e) => e);
    expect(error).toMatchObject({ code: 'fleet-unreachable', title: `The configuration from the seed at ${url} did not start` });
    await expect.poll(() => closed.has('/silent')).toBe(true);
  });

  it('from a seed that is not there says that it does not answer, and why', async () => {
    const gone = createServer().listen(0, '127.0.0.1');
    await once(gone, 'listening');
    const goneUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
    gone.close();
    await once(gone, 'close');
    const error = await new SeedClient(goneUrl, 'secret', '52:54:00:00:00:01').download('/slow', join(dir, 'gone'), 'the configuration', new AbortController().signal, STALL_MS).catch((e) => e);
    expect(error).toMatchObject({ code: 'fleet-unreachable', title: `The seed at ${goneUrl} does not answer` });
    expect(error.description).toMatch(/^ECONNREFUSED\. /);
  });

  it("ended by the caller's cancel is a cancel", async () => {
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), STALL_MS / 2);
    const error = await client().download('/slow', join(dir, 'cancelled'), 'the configuration', cancel.signal, STALL_MS).catch((e) => e);
    expect(error).toBeInstanceOf(InstallCancelled);
  });
});
