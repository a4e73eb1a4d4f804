// The daemon's socket against what a careless or hostile local client can send,
// with a plain Unix socket (as the Calamares module speaks it), and the
// daemon's own lifecycle: permissions, a second daemon, watching sources, shutdown.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, resultOf, startCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { CLI, nixCopyPattern, README_STOP_DEADLINE_MS, scratch, testEnv } from '../helpers/env.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { rootSocketPath } from '../../src/protocol/socket-path.js';

let dir: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => {
  dir = await scratch('socket');
});
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

interface RawClient {
  socket: Socket;
  frames: any[];
  closed: Promise<void>;
  send(text: string): void;
  next(): Promise<any>;
}

function raw(path: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const frames: any[] = [];
    const waiting: ((f: any) => void)[] = [];
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\f')) !== -1) {
        const frame = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        const waiter = waiting.shift();
        if (waiter) waiter(frame);
        else frames.push(frame);
      }
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        socket,
        frames,
        closed,
        send: (text) => socket.write(text),
        next: () => (frames.length > 0 ? Promise.resolve(frames.shift()) : new Promise((r) => waiting.push(r))),
      }),
    );
  });
}

async function statusWorks(): Promise<void> {
  const run = await runCli(['status', '--socket', daemon!.socket, '--json']);
  expect(run.code).toBe(0);
  expect(run.events[0]!.data).toMatchObject({ ok: true, request: 'status' });
}

describe('the socket', () => {
  it('is 0660 and belongs to the configured group from the moment it exists', async () => {
    daemon = await startDaemon({ dir, configDirs: [dir], extraArgs: ['--socket-group', '100'] });
    const info = await stat(daemon.socket);
    expect(info.mode & 0o777).toBe(0o660);
    expect(info.gid).toBe(100);
    expect(info.uid).toBe(0);
  });

  it('answers a plain-socket client speaking the protocol', async () => {
    daemon = await startDaemon({ dir, configDirs: [dir] });
    const client = await raw(daemon.socket);
    client.send(`${JSON.stringify({ type: 'status', data: { v: PROTOCOL_VERSION, id: 'py-1' } })}\f`);
    const reply = await client.next();
    expect(reply).toMatchObject({ type: 'reply', data: { v: PROTOCOL_VERSION, id: 'py-1', request: 'status', ok: true } });
    expect(reply.data.status.install.state).toBe('idle');
    client.socket.destroy();
  });

  it('replies with an error that names an unknown request or a bad field', async () => {
    daemon = await startDaemon({ dir, configDirs: [dir] });
    const client = await raw(daemon.socket);
    client.send(`${JSON.stringify({ type: 'reformat', data: { v: PROTOCOL_VERSION, id: 'r1' } })}\f`);
    expect((await client.next()).data).toMatchObject({ id: 'r1', ok: false, error: { code: 'unknown-request' } });
    client.send(`${JSON.stringify({ type: 'install', data: { v: PROTOCOL_VERSION, id: 'r2', root: 'relative' } })}\f`);
    expect((await client.next()).data).toMatchObject({ id: 'r2', ok: false, error: { code: 'bad-request', field: 'root' } });
    client.send(`${JSON.stringify({ type: 'status', data: { v: 99, id: 'r3' } })}\f`);
    expect((await client.next()).data).toMatchObject({ id: 'r3', ok: false, error: { code: 'unsupported-version' } });
    client.socket.destroy();
  });

  it.each([
    ['an empty object', '{}\f'],
    ['an array', '[1,2,3]\f'],
    ['a numeric type', '{"type":123}\f'],
    ['__proto__', '{"type":"__proto__","data":{}}\f'],
    ['constructor', '{"type":"constructor","data":{}}\f'],
    ["the server's own connect event", '{"type":"connect","data":{}}\f'],
    ["the server's own error event", '{"type":"error","data":{}}\f'],
    ['invalid JSON', '{"type":\f'],
  ])('closes the connection on %s and keeps serving', async (_what, frame) => {
    daemon ??= await startDaemon({ dir, configDirs: [dir] });
    const client = await raw(daemon.socket);
    client.send(frame);
    await client.closed;
    expect(client.frames).toEqual([]);
    await statusWorks();
  });

  it('cuts a frame over the size limit without buffering it, and keeps serving', async () => {
    daemon = await startDaemon({ dir, configDirs: [dir] });
    const client = await raw(daemon.socket);
    const chunk = 'x'.repeat(256 * 1024);
    let written = 0;
    // Keep writing an endless frame; the daemon must hang up long before 64 MiB.
    while (!client.socket.destroyed && written < 64 * 1024 * 1024) {
      const ok = client.socket.write(chunk);
      written += chunk.length;
      if (!ok) await new Promise((r) => setTimeout(r, 5));
      if (client.socket.destroyed || client.socket.closed) break;
    }
    await client.closed;
    expect(written).toBeLessThan(64 * 1024 * 1024);
    // From the daemon's own /proc entry: a daemon that died has none, and the test fails rather than reads 0.
    const rssLine = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${daemon.process.pid}/status`, 'utf8'));
    expect(rssLine, 'the daemon has a resident set size').not.toBeNull();
    const rss = Number(rssLine![1]);
    await statusWorks();
    // Nothing like the written megabytes stayed in the daemon (RSS in KiB).
    expect(rss).toBeLessThan(150_000);
  });

  it('a second daemon on the same socket refuses to start and the first keeps serving', async () => {
    daemon = await startDaemon({ dir, configDirs: [dir] });
    let stderr = '';
    let code = 0;
    try {
      execFileSync(process.execPath, [CLI, 'daemon', '--socket', daemon.socket, '--config-dirs', dir, '--log-dir', join(dir, 'logs2')], { env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    } catch (error: any) {
      code = error.status;
      stderr = String(error.stderr);
    }
    expect(code).toBe(2);
    expect(stderr).toContain(`another daemon is already listening on ${daemon.socket}`);
    await statusWorks();
  });
});

describe('configuration sources, live', () => {
  it('reports the active source and follows a folder that appears and disappears', async () => {
    const tmpCfg = join(dir, 'tmp', 'nix-cfg');
    const isoCfg = await writeConfig(join(dir, 'iso', 'nix-cfg'));
    await mkdir(join(dir, 'tmp'));
    daemon = await startDaemon({ dir, configDirs: [tmpCfg, isoCfg] });
    const active = async () => (await runCli(['status', '--socket', daemon!.socket, '--json'])).events[0]!.data.status.source.active;
    expect(await active()).toBe(isoCfg);

    await writeConfig(tmpCfg);
    await expect.poll(() => daemon!.output(), { timeout: 10_000 }).toContain(`"active":"${tmpCfg}"`);
    expect(await active()).toBe(tmpCfg);

    const seen = daemon.output().length;
    await rm(tmpCfg, { recursive: true });
    await expect.poll(() => daemon!.output().slice(seen), { timeout: 10_000 }).toContain(`"active":"${isoCfg}"`);
    expect(await active()).toBe(isoCfg);
  });
});

describe('shutdown', () => {
  it('SIGTERM during an install ends its child processes, tells the client the service stopped (not a cancel) and removes the socket', async () => {
    const root = join(dir, 'root');
    await mkdir(root, { mode: 0o755 });
    const source = await writeConfig(join(dir, 'cfg'), { hostName: 'shutdown', payloads: { big: 1_000_000_000 } });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const cli = startCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
    await cli.waitFor((e) => e.type === 'progress' && e.data.phase === 'copy' && e.data.bytesDone > 0, 120_000);
    const stoppedAt = Date.now();
    expect(await daemon.stop()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(README_STOP_DEADLINE_MS);
    const run = await cli.done;
    const result = resultOf(run);
    expect(result).toMatchObject({ ok: false, state: 'failed', error: { code: 'service-stopped', title: 'The installer service was stopped' } });
    expect(result.error.description).toContain('during "Copying the system to the target"');
    expect(result.error.description).not.toMatch(/cancel/i);
    expect(run.code).toBe(3);
    expect(() => execFileSync('pgrep', ['-f', nixCopyPattern(root)])).toThrow();
    await expect(stat(daemon.socket)).rejects.toThrow();
    // The log on the target says the same.
    expect(await readFile(result.targetLogPath, 'utf8')).toContain('The installer service was stopped');
    await expect(stat(rootSocketPath(daemon.socket))).rejects.toThrow();
  });

  it('a stop that reaches the commands first (as KillMode=control-group can) is still the service stopping, not a failure', async () => {
    const root = join(dir, 'root');
    await mkdir(root, { mode: 0o755 });
    const source = await writeConfig(join(dir, 'cfg'), { hostName: 'control-group', payloads: { big: 1_000_000_000 } });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const cli = startCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
    await cli.waitFor((e) => e.type === 'progress' && e.data.phase === 'copy' && e.data.bytesDone > 0, 120_000);
    const copying = Number(execFileSync('pgrep', ['-f', nixCopyPattern(root)], { encoding: 'utf8' }).trim().split('\n')[0]);
    // The command's end is seen first, the daemon's own signal a moment later.
    process.kill(-copying, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 30));
    daemon.process.kill('SIGTERM');
    const run = await cli.done;
    expect(resultOf(run)).toMatchObject({ state: 'failed', error: { code: 'service-stopped' } });
    expect(run.code).toBe(3);
  });

  it('after a daemon killed outright, the next one ends the nix copy it left running, and never a process that got a recorded pid since', async () => {
    const root = join(dir, 'root');
    await mkdir(root, { mode: 0o755 });
    const source = await writeConfig(join(dir, 'cfg'), { hostName: 'killed', payloads: { big: 1_000_000_000 } });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const cli = startCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
    await cli.waitFor((e) => e.type === 'progress' && e.data.phase === 'copy' && e.data.bytesDone > 0, 120_000);
    daemon.process.kill('SIGKILL');
    await daemon.stop();
    expect((await cli.done).code).toBe(3);
    // SIGKILL gives the daemon no chance: its nix copy runs on, an orphan.
    const orphan = execFileSync('pgrep', ['-f', nixCopyPattern(root)], { encoding: 'utf8' }).trim();
    expect(orphan).toMatch(/^\d+/);

    // A recorded pid whose process started at another time is someone else's now.
    const decoy = spawn('sleep', ['120'], { stdio: 'ignore', detached: true });
    await writeFile(join(dir, 'children', `${decoy.pid}-1`), '');
    try {
      daemon = await startDaemon({ dir, configDirs: [source] });
      expect(() => execFileSync('pgrep', ['-f', nixCopyPattern(root)])).toThrow();
      expect(daemon.output()).toContain('ended a command an earlier daemon left running');
      expect(() => process.kill(decoy.pid!, 0)).not.toThrow();
      // The old records are gone (the new daemon's own checks may have records of their own by now).
      const records = await readdir(join(dir, 'children'));
      expect(records.filter((r) => r.startsWith(`${decoy.pid}-`) || r.startsWith(`${orphan.split('\n')[0]}-`))).toEqual([]);
    } finally {
      decoy.kill('SIGKILL');
    }
  });
});

it('the CLI says how to start the daemon when it is not running', async () => {
  const run = await runCli(['status', '--socket', join(dir, 'nothing.sock')]);
  expect(run.code).toBe(3);
  expect(run.stderr).toContain('the installer daemon is not running');
  expect(run.stderr).toContain('systemctl start nixos-offline-installer');
});
