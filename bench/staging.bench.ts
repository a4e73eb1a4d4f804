// 3. Staging throughput: the stage step (snapshot check included) copying a
// configuration folder of 1 GB in 10 000 files, against `cp -a` of the same
// tree (baseline, same run). Medians over several runs, alternating.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { stageConfig } from '../src/stage/stage-config.js';
import type { JobContext } from '../src/common/context.js';
import { scratch } from '../test/helpers/env.js';
import { QUICK, median, record, timed } from './lib.js';

const FILES = QUICK ? 500 : 10_000;
const FILE_BYTES = QUICK ? 100_000 : 100_000;
const PER_DIR = 100;

async function makeTree(dir: string): Promise<void> {
  const marker = join(dir, '.complete');
  if (existsSync(marker)) return;
  await rm(dir, { recursive: true, force: true });
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `module-${Math.floor(i / PER_DIR)}`);
    if (i % PER_DIR === 0) await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `file ${i}.nix`), randomBytes(FILE_BYTES));
  }
  await writeFile(join(dir, 'configuration.nix'), '{ }\n');
  await writeFile(marker, '');
}

it('staging throughput', async () => {
  const source = join('/var/tmp', `noi-bench-stage-${FILES}`);
  await makeTree(source);
  const dir = await scratch('bench-stage');
  const stageTimes: number[] = [];
  const cpTimes: number[] = [];
  try {
    for (let run = 0; run < (QUICK ? 1 : 5); run++) {
      const root = join(dir, `root-${run}`);
      await mkdir(root, { mode: 0o755 });
      const ctx: JobContext = {
        installId: `bench-${run}`,
        root,
        signal: new AbortController().signal,
        settings: { configDirs: [source], nixosExpr: '', nixpkgs: null, channelProfile: '', manifest: null },
        log: () => undefined,
        output: () => undefined,
        recentLines: () => [],
        phase: () => undefined,
        progress: () => undefined,
      };
      execFileSync('sync');
      stageTimes.push(await timed(() => stageConfig(ctx, source)));
      const copy = join(dir, `cp-${run}`);
      execFileSync('sync');
      cpTimes.push(await timed(async () => execFileSync('cp', ['-a', source, copy])));
      await rm(root, { recursive: true, force: true });
      await rm(copy, { recursive: true, force: true });
    }
    const ratio = median(stageTimes) / median(cpTimes);
    record('staging', 'Staging throughput', [
      { name: 'stage step / cp -a (median times)', value: ratio, unit: '×', baseline: median(cpTimes), baselineLabel: 'cp -a ms', goal: '<= 1.25', met: ratio <= 1.25 },
    ], [`${FILES} files, ${((FILES * FILE_BYTES) / 1e9).toFixed(2)} GB; stage ${stageTimes.map((t) => t.toFixed(0)).join(', ')} ms; cp -a ${cpTimes.map((t) => t.toFixed(0)).join(', ')} ms`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
