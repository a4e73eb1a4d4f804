// 5. Log streaming: a build that prints 50 000 lines, with the daemon relaying
// every line to a connected client, against the same build writing to
// /dev/null (baseline, same run). Then a client that connects and reads
// nothing for 10 s: the daemon's memory must stay bounded, the install must
// not slow down, and the install log on the target must stay complete.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { it } from 'vitest';
import { logLinesOf, startCli } from '../test/helpers/cli.js';
import { writeConfig } from '../test/helpers/config.js';
import { startDaemon, type RunningDaemon } from '../test/helpers/daemon.js';
import { NIXOS_EXPR, scratch, testEnv } from '../test/helpers/env.js';
import { QUICK, median, record, rssMB, timed } from './lib.js';

const LINES = QUICK ? 5_000 : 50_000;
const SILENT_MS = QUICK ? 2_000 : 10_000;

const nonce = () => randomBytes(6).toString('hex');

// The build step's wall time in the daemon: from its "build" phase record to its "copy" one in the install log.
async function buildPhaseMs(root: string): Promise<number> {
  const records = (await readFile(join(root, 'var/log/nixos-offline-installer/install.log'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { time: number; phase?: string });
  const at = (phase: string) => records.find((r) => r.phase === phase)!.time;
  return at('copy') - at('build');
}

// One install with a fresh noisy build, followed by a client that reads every event.
async function installWithNoise(dir: string, daemon: RunningDaemon, source: string, run: string): Promise<{ buildMs: number; root: string }> {
  await writeConfig(source, { hostName: 'bench-logs', payloads: {}, noise: { lines: LINES, nonce: nonce() } });
  const root = join(dir, `root-${run}`);
  await mkdir(root, { mode: 0o755 });
  const cli = startCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
  const result = await cli.done;
  if (result.code !== 0) throw new Error(result.stdout);
  const relayed = logLinesOf(result.events).filter((l) => /^build output line/.test(l.line)).length;
  if (relayed !== LINES) throw new Error(`the client got ${relayed} of ${LINES} build lines`);
  return { buildMs: await buildPhaseMs(root), root };
}

// The same build, run by hand with its output thrown away: straight to
// /dev/null (the goal's baseline), or through a pipe to cat (what any reader
// of the output costs at least, shown beside it).
async function plainBuild(dir: string, source: string, sink: '> /dev/null 2>&1' | '2>&1 | cat > /dev/null'): Promise<number> {
  const copy = join(dir, `plain-${nonce()}`);
  await cp(source, copy, { recursive: true });
  await writeConfig(copy, { hostName: 'bench-logs', payloads: {}, noise: { lines: LINES, nonce: nonce() } });
  return timed(async () =>
    execFileSync('bash', ['-c', `nix-build "$1" -A system -I nixos-config="$2/configuration.nix" --no-out-link --option substituters '' ${sink}`, 'build', NIXOS_EXPR, copy], { env: testEnv() }),
  );
}

it('log streaming', async () => {
  const dir = await scratch('bench-logs');
  const source = join(dir, 'cfg');
  await writeConfig(source, { hostName: 'bench-logs', payloads: {} });
  const daemon = await startDaemon({ dir, configDirs: [source] });
  try {
    const relayed: number[] = [];
    const plain: number[] = [];
    const piped: number[] = [];
    for (let run = 0; run < (QUICK ? 1 : 5); run++) {
      relayed.push((await installWithNoise(dir, daemon, source, `r${run}`)).buildMs);
      plain.push(await plainBuild(dir, source, '> /dev/null 2>&1'));
      piped.push(await plainBuild(dir, source, '2>&1 | cat > /dev/null'));
    }
    const ratio = median(relayed) / median(plain);
    const floor = median(piped) / median(plain);

    // A client that connects, asks to watch, and then reads nothing.
    const pid = daemon.process.pid!;
    const before = rssMB(pid);
    const silent = connect({ path: daemon.socket });
    await new Promise((r) => silent.once('connect', r));
    silent.write(`${JSON.stringify({ type: 'status', data: { v: 1, id: 'silent', watch: true } })}\f`);
    silent.pause();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMB(pid))), 50);
    const started = Date.now();
    const withSilent = await installWithNoise(dir, daemon, source, 'silent');
    const remaining = SILENT_MS - (Date.now() - started);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    clearInterval(sampler);
    // Reading now shows whether the daemon had hung up on it (its pending limit is 1 MiB).
    silent.resume();
    const dropped = await new Promise<boolean>((resolve) => {
      silent.once('end', () => resolve(true));
      silent.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    silent.destroy();
    const log = await readFile(join(withSilent.root, 'var/log/nixos-offline-installer/install.log'), 'utf8');
    const logged = log.split('\n').filter((l) => l.includes('"build output line ')).length;

    record('logs', 'Log streaming', [
      { name: `build of ${LINES} lines relayed / to /dev/null (median times)`, value: ratio, unit: '×', baseline: median(plain), baselineLabel: '/dev/null ms', goal: '<= 1.05', met: ratio <= 1.05 },
      { name: 'the same build piped to cat / to /dev/null (the floor for any reader)', value: floor, unit: '×', baseline: median(piped), baselineLabel: '| cat ms', goal: '-', met: null },
      { name: 'daemon memory growth with a client not reading', value: peak - before, unit: 'MB', baseline: before, baselineLabel: 'RSS before, MB', goal: '<= 20 (bounded)', met: peak - before <= 20 },
      { name: 'build with that client / median relayed', value: withSilent.buildMs / median(relayed), unit: '×', baseline: null, baselineLabel: null, goal: '<= 1.05', met: withSilent.buildMs / median(relayed) <= 1.05 },
      { name: 'build lines in the install log on the target', value: logged, unit: 'lines', baseline: LINES, baselineLabel: 'printed', goal: `= ${LINES}`, met: logged === LINES },
    ], [`relayed ${relayed.map((t) => t.toFixed(0)).join(', ')} ms; /dev/null ${plain.map((t) => t.toFixed(0)).join(', ')} ms; | cat ${piped.map((t) => t.toFixed(0)).join(', ')} ms; the silent client was ${dropped ? 'dropped by the daemon' : 'still connected'} after ${SILENT_MS / 1000} s`]);
    await rm(withSilent.root, { recursive: true, force: true });
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
