// What the CLI prints for an install's events, on a terminal and through a
// pipe: the real printer, fed events as the daemon sends them, its output
// read back as a terminal shows it.
import { describe, expect, it } from 'vitest';
import { eventPrinter } from '../../src/cli/event-printer.js';
import { validationText } from '../../src/cli/render.js';
import type { LogEvent, ProgressEvent, ResultEvent, ValidationResult } from '../../src/protocol/messages.js';
import { PLAIN } from '../../src/cli/terminal.js';
import { terminalScreen } from '../helpers/terminal.js';

const progress = (fraction: number, detail?: string): ProgressEvent => ({ v: 1, installId: 'i', phase: 'build', fraction, bytesDone: 0, bytesTotal: 0, pathsDone: 0, pathsTotal: 0, ...(detail && { detail }) });
const log = (source: string, lines: string[], level?: 'warn' | 'error'): LogEvent => ({ v: 1, installId: 'i', source, lines, ...(level && { level }) });
const validation = { ok: true, source: '/tmp/nix-cfg', user: null, desktop: null, checkedAt: '2026-12-05T00:00:00.000Z', checks: [] } as unknown as ValidationResult;
const result: ResultEvent = { v: 1, installId: 'i', ok: true, state: 'succeeded', logPath: '/var/log/x.log', targetLogPath: '/mnt/var/log/x.log', toplevel: '/nix/store/x-system', durationMs: 600 };

function printer(tty: boolean, verbose = false, startedAt = Date.now()) {
  let out = '';
  const p = eventPrinter({ tty, verbose, style: PLAIN, columns: () => 80, write: (text) => (out += text), startedAt });
  return { p, out: () => out };
}

describe('through a pipe', () => {
  it('prints the phases, progress by tenths, warnings and errors, and the result; not the commands` every line', () => {
    const { p, out } = printer(false);
    p.phase({ v: 1, installId: 'i', phase: 'build', title: 'Building the system' });
    for (let i = 0; i <= 100; i++) p.progress(progress(i / 100));
    p.log(log('nix-store --realise', ['build output line 1', 'build output line 2']));
    p.log(log('daemon', ['/mnt may be an unmounted folder'], 'warn'));
    p.log(log('nix-store --realise', ['error: builder failed'], 'error'));
    // The daemon's own error line is the result's failure, printed once by the result.
    p.log(log('daemon', ['Building failed: the whole story'], 'error'));
    p.result(result);
    const lines = out().trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('build output line'))).toEqual([]);
    expect(lines.filter((l) => /^\[[#.]+\] +\d+%/.test(l))).toHaveLength(11);
    expect(lines).toContain('    [daemon] /mnt may be an unmounted folder');
    expect(lines).toContain('    [nix-store --realise] error: builder failed');
    expect(out()).not.toContain('the whole story');
    expect(out()).toContain('Installation finished');
  });

  it('with --verbose, every line', () => {
    const { p, out } = printer(false, true);
    p.log(log('nix-store --realise', ['build output line 1', 'build output line 2']));
    expect(out()).toBe('    [nix-store --realise] build output line 1\n    [nix-store --realise] build output line 2\n');
  });
});

describe('on a terminal', () => {
  it('a check line of another client goes above the bar, never glued onto it', () => {
    const { p, out } = printer(true);
    p.phase({ v: 1, installId: 'i', phase: 'copy', title: 'Copying' });
    p.progress(progress(0.4));
    p.validation(validation);
    const screen = terminalScreen(out());
    expect(screen[1]).toMatch(/^check: ok/);
    expect(screen[2]).toMatch(/^\[#+\.+\]  40%$/);
  });

  it('shows the latest line of a long build under the bar, and clears it for the result', async () => {
    const { p, out } = printer(true);
    p.phase({ v: 1, installId: 'i', phase: 'build', title: 'Building' });
    p.progress(progress(0.2, 'building 1 of 1: system'));
    p.log(log('nix-store --realise', ['compiling foo.c', `compiling ${'x'.repeat(200)}.c`]));
    await new Promise((r) => setTimeout(r, 300));
    let screen = terminalScreen(out());
    expect(screen[1]).toContain('20%  building 1 of 1: system');
    // Cut to the terminal's width: a wrapped line could not be redrawn in place.
    expect(screen[2]).toMatch(/^\[nix-store --realise\] compiling x+…$/);
    expect(screen[2]!.length).toBeLessThan(80);
    p.progress(progress(0.3, 'building 1 of 1: system'));
    screen = terminalScreen(out());
    expect(screen.slice(1, 3).map((l) => l.slice(0, 14))).toEqual(['[#########....', '[nix-store --r']);
    p.result(result);
    screen = terminalScreen(out());
    expect(screen.filter((l) => l.includes('compiling') || l.includes('%'))).toEqual([]);
  });

  it('says what the time covers, and the command`s own time when it waited longer', () => {
    const quick = printer(true);
    quick.p.result(result);
    expect(quick.out()).toContain("Installation finished in 0.6 s (the daemon's install, from the request to the log written).");
    const waited = printer(true, false, Date.now() - 32_000);
    waited.p.result(result);
    expect(waited.out()).toMatch(/Installation finished in 0\.6 s \(the daemon's install, from the request to the log written; this command ran 3\d\.\d s\)\./);
  });
});

describe('counts', () => {
  it('say "1 derivation", not "1 derivations"', () => {
    const checked = (toBuild: string[]) =>
      validationText({ v: 1, ok: true, source: '/tmp/nix-cfg', user: null, desktop: null, checks: [{ name: 'offline', ok: true }], facts: null, toBuild, downloads: [], checkedAt: '2026-12-05T00:00:00.000Z', durationMs: 1 } as ValidationResult);
    expect(checked(['/nix/store/a.drv'])).toContain('  1 derivation will be built locally, nothing downloaded');
    expect(checked(['/nix/store/a.drv', '/nix/store/b.drv'])).toContain('  2 derivations will be built locally');
  });
});
