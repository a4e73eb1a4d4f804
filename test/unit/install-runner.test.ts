// A fault of the install job itself (a bug, not an install failure) must still
// reach the client as a result: Calamares waits for one.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { InstallRunner } from '../../src/daemon/install-runner.js';
import type { DaemonOptions } from '../../src/daemon/options.js';
import type { ResultEvent } from '../../src/protocol/messages.js';
import { rm } from 'node:fs/promises';
import { FIXTURE_CFG, scratchWithRoot, unmountBelow } from '../helpers/env.js';

describe('the install runner', () => {
  it('answers with an internal-error result when the job throws, and is free for the next install', async () => {
    // A log folder setting that is not a path (options.ts never makes one): the job itself faults,
    // after the request's checks (a real folder, and a mount point owned by root as the target).
    const broken = { configDirs: [FIXTURE_CFG], socketGid: 0, logDir: 42, logLevel: 'info' } as unknown as DaemonOptions;
    const runner = new InstallRunner(broken, pino({ level: 'silent' }));
    const { dir, root } = await scratchWithRoot('runner');
    const result = await new Promise<ResultEvent>((resolve) => {
      runner.start({ v: 1, id: 'x', root }, { phase: () => {}, progress: () => {}, log: () => {}, result: resolve });
    });
    expect(result).toMatchObject({ ok: false, state: 'failed', error: { code: 'internal-error', title: 'The installer hit an unexpected error' } });
    expect(result.error!.description).toContain('journalctl -u nixos-offline-installer');
    await runner.stop();
    expect(runner.busy).toBe(false);
    expect(runner.status()).toMatchObject({ state: 'failed', result: { error: { code: 'internal-error' } } });
    unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  });
});
