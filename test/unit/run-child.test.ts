import { describe, expect, it } from 'vitest';
import { runChild } from '../../src/process/run-child.js';
import { execFileSync } from 'node:child_process';
import { README_STOP_DEADLINE_MS } from '../helpers/env.js';

describe('runChild', () => {
  it('hands on every line of both streams and keeps stdout when asked', async () => {
    const lines: string[] = [];
    const result = await runChild({
      file: 'sh',
      args: ['-c', 'echo out1; echo err1 >&2; echo out2; exit 3'],
      signal: new AbortController().signal,
      captureStdout: true,
      onLine: (line, stream) => lines.push(`${stream}:${line}`),
    });
    expect(result).toMatchObject({ exitCode: 3, stdout: ['out1', 'out2'], cancelled: false, spawnError: null });
    expect(lines.sort()).toEqual(['stderr:err1', 'stdout:out1', 'stdout:out2']);
  });

  it('hands on a last line with no newline, and strips carriage returns', async () => {
    const lines: string[] = [];
    await runChild({ file: 'printf', args: ['a\r\nb\nlast'], signal: new AbortController().signal, onLine: (line) => lines.push(line) });
    expect(lines).toEqual(['a', 'b', 'last']);
  });

  it('passes arguments as they are, with no shell', async () => {
    const result = await runChild({ file: 'printf', args: ['%s\n', '$(id); `x` "q"'], signal: new AbortController().signal, captureStdout: true, onLine: () => undefined });
    expect(result.stdout).toEqual(['$(id); `x` "q"']);
  });

  it('starts nothing when cancelled before it could start, even while loading execa', async () => {
    const controller = new AbortController();
    const marker = `/tmp/noi-run-child-${process.pid}-${Date.now()}`;
    const running = runChild({ file: 'touch', args: [marker], signal: controller.signal, onLine: () => undefined });
    controller.abort();
    expect(await running).toMatchObject({ cancelled: true, exitCode: null });
    expect(() => execFileSync('test', ['-e', marker])).toThrow();
  });

  it('says when the command does not exist', async () => {
    const result = await runChild({ file: 'no-such-command-here', args: [], signal: new AbortController().signal, onLine: () => undefined });
    expect(result.spawnError).toMatch(/no-such-command-here/);
  });

  it('ends the whole process group on cancel, also children that ignore SIGTERM', async () => {
    const controller = new AbortController();
    const marker = `noi-test-${process.pid}-${Date.now()}`;
    let abortedAt = 0;
    const running = runChild({
      file: 'sh',
      args: ['-c', `bash -c 'trap "" TERM; exec -a ${marker} sleep 60' & echo started; wait`],
      signal: controller.signal,
      onLine: (line) => line === 'started' && setTimeout(() => ((abortedAt = Date.now()), controller.abort()), 100),
    });
    const result = await running;
    expect(result.cancelled).toBe(true);
    // README's stop deadline: SIGTERM, then SIGKILL after 3 s (this child ignores SIGTERM).
    expect(Date.now() - abortedAt).toBeLessThan(README_STOP_DEADLINE_MS);
    await new Promise((r) => setTimeout(r, 200));
    expect(() => execFileSync('pgrep', ['-f', marker])).toThrow();
  });
});
