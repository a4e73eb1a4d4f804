// 1. Progress truth: while the daemon copies a ~1 GB closure of incompressible
// data (largest path over half of it) into a scratch root, sample the bytes
// really in <root>/nix/store every 50 ms and compare with the progress the CLI
// shows (--json events, timestamped on arrival), allowing the display 250 ms
// of lag. Baseline, from the same run: progress counted from `nix copy`'s
// "copying path" lines alone, as other installers do.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { bytesOnDisk } from '../src/copy/bytes-on-disk.js';
import { logLinesOf, startCli } from '../test/helpers/cli.js';
import { writeConfig } from '../test/helpers/config.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { NIX_CONFIG, scratch } from '../test/helpers/env.js';
import { QUICK, RESULTS, record } from './lib.js';

const LAG_MS = 250;
const SAMPLE_MS = 50;

interface Point {
  t: number;
  value: number;
}

async function storeBytes(root: string): Promise<number> {
  const store = join(root, 'nix/store');
  const names = await readdir(store).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) if (!name.endsWith('.lock')) total += await bytesOnDisk(join(store, name));
  return total;
}

// The shown value at time t: the last one that arrived at or before t.
function valueAt(series: readonly Point[], t: number): number {
  let value = 0;
  for (const p of series) {
    if (p.t > t) break;
    value = p.value;
  }
  return value;
}

// Largest distance, in points, between the truth at t and anything shown from t to t + lag.
function largestGap(truth: readonly Point[], shown: readonly Point[]): number {
  let worst = 0;
  for (const { t, value } of truth) {
    const candidates = [valueAt(shown, t), ...shown.filter((p) => p.t > t && p.t <= t + LAG_MS).map((p) => p.value)];
    const gap = Math.min(...candidates.map((c) => Math.abs(c - value)));
    worst = Math.max(worst, gap);
  }
  return worst * 100;
}

function svg(truth: Point[], shown: Point[], lines: Point[]): string {
  const t0 = truth[0]?.t ?? 0;
  const t1 = truth.at(-1)?.t ?? t0 + 1;
  const W = 720;
  const H = 360;
  const pad = 50;
  const x = (t: number) => pad + ((t - t0) / (t1 - t0)) * (W - 2 * pad);
  const y = (v: number) => H - pad - v * (H - 2 * pad);
  const steps = (series: Point[]) => {
    const points: string[] = [];
    let last = 0;
    for (const p of series) {
      if (p.t < t0 || p.t > t1) continue;
      points.push(`${x(p.t).toFixed(1)},${y(last).toFixed(1)}`, `${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`);
      last = p.value;
    }
    points.push(`${x(t1).toFixed(1)},${y(last).toFixed(1)}`);
    return points.join(' ');
  };
  const line = (series: Point[]) => series.map((p) => `${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const seconds = (t1 - t0) / 1000;
  const ticks = Array.from({ length: 6 }, (_, i) => i / 5);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Copy progress: shown by the installer vs bytes on the target</text>
${ticks.map((v) => `<line x1="${pad}" x2="${W - pad}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${pad - 6}" y="${y(v) + 4}" text-anchor="end">${v * 100}%</text>`).join('\n')}
${ticks.map((v) => `<text x="${pad + v * (W - 2 * pad)}" y="${H - pad + 18}" text-anchor="middle">${(v * seconds).toFixed(1)} s</text>`).join('\n')}
<polyline fill="none" stroke="#999" stroke-width="2" stroke-dasharray="6 4" points="${steps(lines)}"/>
<polyline fill="none" stroke="black" stroke-width="2" points="${line(truth)}"/>
<polyline fill="none" stroke="#1565c0" stroke-width="2" points="${steps(shown)}"/>
<rect x="${pad + 10}" y="${pad - 20}" width="330" height="62" fill="white" stroke="#ccc"/>
<line x1="${pad + 20}" x2="${pad + 50}" y1="${pad - 5}" y2="${pad - 5}" stroke="black" stroke-width="2"/><text x="${pad + 58}" y="${pad - 1}">true: bytes in &lt;root&gt;/nix/store</text>
<line x1="${pad + 20}" x2="${pad + 50}" y1="${pad + 13}" y2="${pad + 13}" stroke="#1565c0" stroke-width="2"/><text x="${pad + 58}" y="${pad + 17}">shown by nixos-offline-installer</text>
<line x1="${pad + 20}" x2="${pad + 50}" y1="${pad + 31}" y2="${pad + 31}" stroke="#999" stroke-width="2" stroke-dasharray="6 4"/><text x="${pad + 58}" y="${pad + 35}">counted from "copying path" lines</text>
</svg>
`;
}

it('progress truth', async () => {
  const total = QUICK ? 80e6 : 1e9;
  const dir = await scratch('bench-progress');
  const root = join(dir, 'root');
  await mkdir(root, { mode: 0o755 });
  // A new closure every run, so the copy is never partly done already.
  const tag = randomBytes(4).toString('hex');
  const source = await writeConfig(join(dir, 'cfg'), {
    hostName: `bench-progress-${tag}`,
    payloads: {},
    randomPayloads: { [`big${tag}`]: Math.round(total * 0.6), [`mid${tag}`]: Math.round(total * 0.25), [`small${tag}`]: Math.round(total * 0.1), [`tiny${tag}`]: Math.round(total * 0.05) },
  });
  const daemon = await startDaemon({ dir, configDirs: [source] });
  try {
    const cli = startCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
    await cli.waitFor((e) => e.type === 'phase' && e.data.phase === 'copy', 600_000);
    const samples: Point[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push({ t: Date.now(), value: await storeBytes(root) });
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
      }
    })();
    await cli.waitFor((e) => e.type === 'phase' && e.data.phase === 'install', 600_000);
    sampling = false;
    await sampler;
    const run = await cli.done;
    if (run.code !== 0) throw new Error(`install failed:\n${run.stdout}\n${run.stderr}`);

    const copy = run.events.filter((e) => e.type === 'progress' && e.data.phase === 'copy');
    const bytesTotal: number = copy.at(-1)!.data.bytesTotal;
    const shown: Point[] = copy.map((e) => ({ t: e.at, value: e.data.bytesDone / bytesTotal }));
    const start = shown[0]!.t;
    const end = copy.find((e) => e.data.bytesDone === bytesTotal)?.at ?? shown.at(-1)!.t;
    const truth: Point[] = samples.filter((s) => s.t >= start && s.t <= end).map((s) => ({ t: s.t, value: Math.min(s.value / bytesTotal, 1) }));

    // The baseline from the same run: each "copying path" line completes the paths before it.
    const COPYING_PATH = /^copying path '([^']+)'/;
    const toplevel = run.events.find((e) => e.type === 'result')!.data.toplevel as string;
    const info = JSON.parse(execFileSync('nix', ['path-info', '--recursive', '--json', toplevel], { env: { ...process.env, NIX_CONFIG: `${NIX_CONFIG}\nexperimental-features = nix-command` }, encoding: 'utf8' })) as { path: string; narSize: number }[];
    const sizes = new Map(info.map((p) => [p.path, p.narSize]));
    const lines: Point[] = [];
    let done = 0;
    let previous: string | null = null;
    for (const l of logLinesOf(run.events)) {
      if (l.source !== 'nix copy') continue;
      const match = COPYING_PATH.exec(l.line);
      if (!match) continue;
      if (previous) done += sizes.get(previous) ?? 0;
      previous = match[1]!;
      lines.push({ t: l.at, value: done / bytesTotal });
    }
    lines.push({ t: end, value: 1 });

    const gap = largestGap(truth, shown);
    const baselineGap = largestGap(truth, lines);
    await mkdir(RESULTS, { recursive: true });
    await writeFile(join(RESULTS, 'progress.svg'), svg(truth, shown, lines));
    record(
      'progress',
      'Progress truth',
      [
        { name: 'largest gap, shown vs bytes on target (250 ms lag allowed)', value: gap, unit: 'points', baseline: baselineGap, baselineLabel: 'path lines only', goal: '<= 5', met: gap <= 5 },
      ],
      [`${(bytesTotal / 1e6).toFixed(0)} MB copied in ${((end - start) / 1000).toFixed(1)} s; ${truth.length} samples; ${shown.length} progress events; picture: bench/results/progress.svg`],
    );
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
