// The copy's time left (issue 26 item 6) as an install shows it: from a
// medium throttled to a few MB/s, so the copy takes ~30 s, the daemon says a
// time left from 10 % of the bytes on, none before or after the copy, and the
// CLI's status line shows it. Its accuracy: bench/copy-time-left.bench.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { slowReads, type FailingMedium } from '../helpers/bad-medium.js';
import { resultOf, runCli, startCli, type CliEvent } from '../helpers/cli.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { endIsoStoreTest, isoStoreBed, type IsoStore } from '../helpers/iso-store.js';

const PAYLOAD_BYTES = 256 * 1024 ** 2;
const MEDIUM_BYTES_PER_SECOND = 8 * 1024 ** 2;

let dir: string;
let root: string;
let source: string;
let iso: IsoStore;
let daemon: RunningDaemon | null = null;
let medium: FailingMedium | null = null;

beforeEach(async () => {
  // Incompressible, so the squashfs holds (and the medium serves) all its bytes.
  ({ dir, root, source, iso } = await isoStoreBed('copy-time-left', (nonce) => ({ hostName: 'eta', payloads: { [`locale-${nonce}`]: 40_000 }, randomPayloads: { [`firmware-${nonce}`]: PAYLOAD_BYTES } })));
  medium = await slowReads(iso.image, dir, MEDIUM_BYTES_PER_SECOND);
}, 300_000);
afterEach(async () => {
  const [running, slow] = [daemon, medium];
  daemon = null;
  medium = null;
  await endIsoStoreTest(dir, running, slow);
});

describe('the copy from a slow medium', () => {
  it('says the time left once past 10 % of the bytes, never before or after the copy, and the CLI shows it', async () => {
    daemon = await startDaemon({ dir, configDirs: [source], isoStore: medium!.image });
    const cli = startCli(['install', '--socket', daemon.socket, '--root', root, '--json']);
    const firstEstimate = await cli.waitFor((e) => e.type === 'progress' && e.data.phase === 'copy' && e.data.secondsLeft !== undefined, 300_000);
    const status = await runCli(['status', '--socket', daemon.socket]);
    expect(status.stdout).toMatch(/copy: \[.*\] .* paths, about \d+ (s|min) left/);

    const run = await cli.done;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(resultOf(run).ok).toBe(true);
    const copy = run.events.filter((e) => e.type === 'progress' && e.data.phase === 'copy');
    const copied = copy.find((e) => e.data.bytesTotal > 0 && e.data.bytesDone === e.data.bytesTotal)!;
    // Once copied, no phase after it says time is left.
    expect(run.events.filter((e) => e.type === 'progress' && e.data.phase !== 'copy' && e.data.secondsLeft !== undefined)).toEqual([]);
    const done = (e: CliEvent) => e.data.bytesDone / e.data.bytesTotal;
    // The copy is the medium's pace: it took several seconds, so noise of a fraction of one does not decide.
    expect(copied.at - firstEstimate.at).toBeGreaterThan(5_000);

    // Every estimate shown from 10 % to 50 % of the bytes is a positive number of seconds. How close it is
    // (issue 26's goal: within 20 %) is not asserted here: bench/copy-time-left.bench.ts measures it on
    // a realistic closure (README, "Performance").
    const shown = copy.filter((e) => e.data.secondsLeft !== undefined && done(e) >= 0.1 && done(e) <= 0.5);
    expect(shown.length).toBeGreaterThan(3);
    for (const e of shown) expect(e.data.secondsLeft).toBeGreaterThan(0);
    // None before 10 % of the bytes.
    expect(copy.filter((e) => e.data.secondsLeft !== undefined && done(e) < 0.1)).toEqual([]);
  }, 600_000);
});
