// Records of running commands, and ending what an earlier daemon left running,
// with real processes: only a recorded pid whose start time matches is ended.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endLeftovers, processStartTime, recordChild, recordChildrenIn } from '../../src/process/child-record.js';
import { scratch } from '../helpers/env.js';

let dir: string;
let records: string;
const started: ChildProcess[] = [];

function sleeper(): ChildProcess {
  // Its own process group, as the daemon starts every command.
  const child = spawn('sleep', ['120'], { stdio: 'ignore', detached: true });
  started.push(child);
  return child;
}

const alive = (pid: number) => processStartTime(pid) !== null;

beforeEach(async () => {
  dir = await scratch('children');
  records = join(dir, 'children');
});
afterEach(async () => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('records of running commands', () => {
  it('records a command while it runs, as pid and start time', async () => {
    expect(recordChildrenIn(records)).toBe(true);
    const child = sleeper();
    const forget = recordChild(child.pid!);
    expect(await readdir(records)).toEqual([`${child.pid}-${processStartTime(child.pid!)}`]);
    forget();
    expect(await readdir(records)).toEqual([]);
  });

  it('ends a recorded command still running, and leaves a process whose pid was recorded with another start time', async () => {
    await mkdir(records, { mode: 0o700 });
    const leftover = sleeper();
    const reused = sleeper();
    await writeFile(join(records, `${leftover.pid}-${processStartTime(leftover.pid!)}`), '');
    await writeFile(join(records, `${reused.pid}-${Number(processStartTime(reused.pid!)) - 1}`), '');
    await writeFile(join(records, '999999999-1'), '');
    const exited = new Promise((resolve) => leftover.once('exit', (_code, signal) => resolve(signal)));
    const ended = await endLeftovers(records, 3000);
    expect(ended.map((e) => e.pid)).toEqual([leftover.pid]);
    expect(ended[0]!.command).toBe('sleep 120');
    expect(await exited).toBe('SIGTERM');
    expect(alive(reused.pid!)).toBe(true);
    expect(await readdir(records)).toEqual([]);
  });

  it('trusts no folder that others can write to', async () => {
    await mkdir(records);
    await chmod(records, 0o777);
    const victim = sleeper();
    await writeFile(join(records, `${victim.pid}-${processStartTime(victim.pid!)}`), '');
    expect(await endLeftovers(records, 1000)).toEqual([]);
    expect(alive(victim.pid!)).toBe(true);
    expect(recordChildrenIn(records)).toBe(false);
  });
});
