// The daemon's fill of the kept copy (src/daemon/kept-fill.ts) on a real folder:
// a burst of change notices while it runs ends the fill in progress and starts
// one more, which copies only what the first had not copied whole; a change
// later copies that file alone; a /tmp too small for the folder is tried once.
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeptCopyFill } from '../../src/daemon/kept-fill.js';
import { dropKeptCopy, keptEntries, privateCopy } from '../../src/prepare/private-copy.js';
import type { CommandContext } from '../../src/common/context.js';
import { scratch } from '../helpers/env.js';

const FOLDERS = 30;
const PER_FOLDER = 100;
const FILES = FOLDERS * PER_FOLDER + 1;
// Past the kept copy's window for files written just before a copy (RACY_MS): a copy of them counts.
const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));
const QUIET_MS = 50;

let dir: string;
let source: string;
let lines: Record<string, any>[];
let fill: KeptCopyFill;

function logger() {
  lines = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).trim().split('\n')) lines.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: 'debug' }, sink);
}

const said = (msg: string) => lines.filter((l) => l.msg === msg);
const FILLED = 'kept copy of the configuration filled';
const ENDED = 'kept copy fill ended early: the folder changed or the daemon stops';

beforeEach(async () => {
  dir = await scratch('kept-fill');
  source = join(dir, 'nix-cfg');
  await mkdir(source);
  await writeFile(join(source, 'configuration.nix'), '{ }\n');
  for (let f = 0; f < FOLDERS; f++) {
    await mkdir(join(source, `modules-${f}`));
    await Promise.all(Array.from({ length: PER_FOLDER }, (_, i) => writeFile(join(source, `modules-${f}`, `part ${i}.nix`), `{ part = ${f * PER_FOLDER + i}; }\n`)));
  }
  await settle();
  fill = new KeptCopyFill(logger(), () => source, QUIET_MS);
});
afterEach(async () => {
  await fill.settled();
  await dropKeptCopy();
  await rm(dir, { recursive: true, force: true });
});

describe('the daemon’s fill of the kept copy', () => {
  it('a burst of changes mid-fill ends it and starts one more, which copies only what is not yet copied whole', async () => {
    fill.start();
    // Mid-way through the first fill (the copy records each file once it is whole).
    while (keptEntries() < 64) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 20; i++) fill.changed();
    await fill.settled();

    const ended = said(ENDED);
    expect(ended).toHaveLength(1);
    const keptWhenEnded = ended[0]!.entries as number;
    expect(keptWhenEnded).toBeGreaterThanOrEqual(64);
    expect(keptWhenEnded).toBeLessThan(FILES);
    // One more fill for the twenty notices, and it took the rest alone: no file was copied twice.
    expect(said(FILLED).map((l) => [l.written, l.entries])).toEqual([[FILES - keptWhenEnded, FILES]]);
    expect(keptEntries()).toBe(FILES);

    // What a check or an install then gets is the whole folder, and nothing more is copied for it.
    const ctx: CommandContext = { signal: new AbortController().signal, log: () => undefined, output: () => undefined, recentLines: () => [] };
    const copy = await privateCopy(ctx, source);
    try {
      expect(copy.written).toBe(0);
      expect(await readFile(join(copy.folder, `modules-${FOLDERS - 1}`, `part ${PER_FOLDER - 1}.nix`), 'utf8')).toBe(`{ part = ${FILES - 2}; }\n`);
    } finally {
      await copy.remove();
    }
  });

  it('a change after the fill copies the changed file alone', async () => {
    fill.start();
    await fill.settled();
    expect(said(FILLED).map((l) => l.written)).toEqual([FILES]);
    await writeFile(join(source, 'modules-3', 'part 7.nix'), '{ changed = true; }\n');
    fill.changed();
    await fill.settled();
    expect(said(FILLED).map((l) => l.written)).toEqual([FILES, 1]);
  });

  it('a /tmp too small for the folder: the fill fails once, and is not tried again at each change', async () => {
    const small = join(dir, 'small-tmp');
    await mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = small;
    try {
      fill.start();
      await fill.settled();
      for (let i = 0; i < 3; i++) {
        await writeFile(join(source, 'configuration.nix'), `{ change = ${i}; }\n`);
        fill.changed();
        await fill.settled();
      }
      expect(said('kept copy fill failed; the folder is copied when a check or an install needs it')).toHaveLength(1);
      expect(said(FILLED)).toEqual([]);
      expect(keptEntries()).toBe(0);
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
      execFileSync('umount', [small]);
    }
  });
});
