// Log lines travel in batches (to clients and to log files); order and
// completeness must not suffer for it.
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchLogEvents } from '../../src/job/batch-log-events.js';
import type { InstallSink } from '../../src/job/install-sink.js';
import { BatchedWriter } from '../../src/log/batched-writer.js';
import { LOG_BATCH_CHARS, MAX_LOG_LINE_CHARS, MAX_MESSAGE_BYTES } from '../../src/protocol/limits.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';

function recordingSink() {
  const events: { type: string; data: any }[] = [];
  const sink: InstallSink = {
    log: (data) => events.push({ type: 'log', data }),
    phase: (data) => events.push({ type: 'phase', data }),
    progress: (data) => events.push({ type: 'progress', data }),
  };
  return { events, sink };
}

const phase = { v: PROTOCOL_VERSION, installId: 'i', phase: 'build' as const, title: 'Building' };

describe('log events to clients', () => {
  it('gathers the lines of one source, and never lets a phase overtake them', async () => {
    const { events, sink } = recordingSink();
    const relay = batchLogEvents('i', sink);
    relay.line('nix-build', 'a');
    relay.line('nix-build', 'b');
    relay.line('nix copy', 'c');
    relay.phase(phase);
    relay.line('nix copy', 'd');
    expect(events.map((e) => [e.type, e.data.source, e.data.lines])).toEqual([
      ['log', 'nix-build', ['a', 'b']],
      ['log', 'nix copy', ['c']],
      ['phase', undefined, undefined],
    ]);
    // The rest leaves on its own shortly.
    await new Promise((r) => setTimeout(r, 50));
    expect(events.at(-1)!.data).toEqual({ v: PROTOCOL_VERSION, installId: 'i', source: 'nix copy', lines: ['d'] });
  });

  it('marks warnings and errors, in events of their own, so a client can show only them', () => {
    const { events, sink } = recordingSink();
    const relay = batchLogEvents('i', sink);
    relay.line('daemon', 'plain');
    relay.line('daemon', 'careful', 'warn');
    relay.line('daemon', 'broken', 'error');
    relay.line('daemon', 'plain again');
    relay.flush();
    expect(events.map((e) => [e.data.lines, e.data.level])).toEqual([
      [['plain'], undefined],
      [['careful'], 'warn'],
      [['broken'], 'error'],
      [['plain again'], undefined],
    ]);
  });

  it('keeps every frame under the message limit, even for lines that must all be escaped', () => {
    const { events, sink } = recordingSink();
    const relay = batchLogEvents('i', sink);
    const worst = '\u0001'.repeat(MAX_LOG_LINE_CHARS);
    for (let i = 0; i < 40; i++) relay.line('nix-build', worst);
    relay.flush();
    expect(events.flatMap((e) => e.data.lines)).toHaveLength(40);
    for (const e of events) {
      expect(e.data.lines.join('').length).toBeLessThanOrEqual(LOG_BATCH_CHARS);
      expect(Buffer.byteLength(JSON.stringify({ type: 'log', data: e.data }))).toBeLessThan(MAX_MESSAGE_BYTES);
    }
  });
});

describe('log files', () => {
  it('writes what it gathered in order, all of it on flushSync, and the rest by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noi-writer-'));
    const file = join(dir, 'log');
    const fd = openSync(file, 'a');
    const writer = new BatchedWriter(fd);
    for (let i = 0; i < 1000; i++) writer.write(`line ${i}\n`);
    writer.flushSync();
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(1000);
    writer.write('later\n');
    expect(readFileSync(file, 'utf8')).not.toContain('later');
    await new Promise((r) => setTimeout(r, 60));
    expect(readFileSync(file, 'utf8').endsWith('line 999\nlater\n')).toBe(true);
    closeSync(fd);
  });

  it('tells once when writing stops working, and does not throw', () => {
    const errors: Error[] = [];
    const writer = new BatchedWriter(987654, (error) => errors.push(error));
    writer.write('a\n');
    writer.flushSync();
    writer.write('b\n');
    writer.flushSync();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('EBADF');
  });
});
