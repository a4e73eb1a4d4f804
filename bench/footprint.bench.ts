// 2. Daemon footprint: time from starting the daemon to its socket answering a
// status request, and resident memory after 3 s idle, beside a bare node
// process's memory (baseline, same run).
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { it } from 'vitest';
import { CLI, NIXOS_EXPR, scratch, testEnv } from '../test/helpers/env.js';
import { writeConfig } from '../test/helpers/config.js';
import { QUICK, median, record, rssMB } from './lib.js';

const IDLE_MS = 3000;

// Resolves when a status request over the socket gets its reply.
function statusAnswered(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    let data = '';
    socket.setEncoding('utf8');
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write(`${JSON.stringify({ type: 'status', data: { v: 1, id: 'bench' } })}\f`));
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('"reply"')) {
        socket.destroy();
        resolve(true);
      }
    });
  });
}

async function oneRun(dir: string, source: string, index: number): Promise<{ readyMs: number; rss: number }> {
  const socket = join(dir, `ipc-${index}.sock`);
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'daemon', '--socket', socket, '--config-dirs', source, '--nixos-expr', NIXOS_EXPR, '--log-dir', join(dir, 'logs'), '--log-level', 'warn'], { env: testEnv(), stdio: 'ignore' });
  try {
    while (!(await statusAnswered(socket))) {
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    const readyMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { readyMs, rss: rssMB(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rss = rssMB(child.pid!);
  child.kill();
  return rss;
}

it('daemon footprint', async () => {
  const dir = await scratch('bench-footprint');
  await mkdir(join(dir, 'logs'));
  const source = await writeConfig(join(dir, 'cfg'));
  try {
    const runs = [];
    for (let i = 0; i < (QUICK ? 1 : 5); i++) runs.push(await oneRun(dir, source, i));
    const ready = median(runs.map((r) => r.readyMs));
    const rss = median(runs.map((r) => r.rss));
    const bare = await bareNodeRss();
    record('footprint', 'Daemon footprint', [
      { name: 'start to first status reply', value: ready, unit: 'ms', baseline: null, baselineLabel: null, goal: '<= 300', met: ready <= 300 },
      { name: 'idle resident memory after 3 s', value: rss, unit: 'MB', baseline: bare, baselineLabel: 'bare node', goal: '<= 60', met: rss <= 60 },
    ], [`median of ${runs.length} starts; ready times ${runs.map((r) => r.readyMs.toFixed(0)).join(', ')} ms`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
