// 3. The configuration's handling in an install and in a check, for a folder
// of 1 GB in 10 000 files, against one `cp -a` of the same tree (baseline,
// same run; medians over runs of each run's ratio):
// - an install: the private copy of the hardware phase (as on the ISO, shared
//   with an eval user's group), the check's scan, the stage phase (snapshot
//   check included) and the marker of the staged folder; once after the
//   daemon's fill of the kept copy (it fills it when it first sees the folder,
//   in the background), once after a check of the same folder (Calamares checks
//   before it installs), and once asked the moment the daemon starts, so that
//   it waits for the fill (fill and install timed together: the worst case);
// - a check of the folder after a check of it unchanged (a private copy each);
// - the stage phase alone (its figure before the private copy existed).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { markStagedConfig, stageConfig } from '../src/stage/stage-config.js';
import { dropKeptCopy, fillKeptCopy, privateCopy } from '../src/prepare/private-copy.js';
import { scanSource } from '../src/snapshot/scan-source.js';
import { setEvalUser } from '../src/nix/eval-user.js';
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

function context(root: string, source: string, run: number): JobContext {
  return {
    installId: `bench-${run}`,
    root,
    signal: new AbortController().signal,
    settings: { configDirs: [source], nixosExpr: '', nixpkgs: null, channelProfile: '', manifest: null, socketGid: 0 },
    log: () => undefined,
    output: () => undefined,
    recentLines: () => [],
    phase: () => undefined,
    progress: () => undefined,
  };
}

it('configuration handling', async () => {
  const source = join('/var/tmp', `noi-bench-stage-${FILES}`);
  await makeTree(source);
  const dir = await scratch('bench-stage');
  // As on the ISO: the prepared copy is shared with the eval user's group (nogroup here).
  setEvalUser({ name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' });
  const times = { installAfterFill: [] as number[], installAfterCheck: [] as number[], installAtStart: [] as number[], check: [] as number[], stage: [] as number[], cp: [] as number[] };
  // Each goal's figure is divided by a `cp -a` timed just before it, run by run (the load of other work on the
  // machine changes within a run); the others by the run's last `cp -a`.
  const cpBefore = { installAfterFill: [] as number[], installAfterCheck: [] as number[] };
  const cpTimed = async (run: number) => {
    const copy = join(dir, `cp-${run}`);
    execFileSync('sync');
    const took = await timed(async () => execFileSync('cp', ['-a', source, copy]));
    await rm(copy, { recursive: true, force: true });
    return took;
  };
  try {
    for (let run = 0; run < (QUICK ? 1 : 3); run++) {
      const install = async (root: string) => {
        const ctx = context(root, source, run);
        const copy = await privateCopy(ctx, source);
        try {
          await scanSource(source);
          await stageConfig(ctx, copy.folder, source);
          await markStagedConfig(ctx);
        } finally {
          await copy.remove();
        }
      };
      const root = join(dir, `root-${run}`);
      const ctx = context(root, source, run);
      // The folder never checked: the daemon filled the kept copy when it saw it.
      await dropKeptCopy();
      await fillKeptCopy(ctx, source);
      await mkdir(root, { mode: 0o755 });
      cpBefore.installAfterFill.push(await cpTimed(run));
      execFileSync('sync');
      times.installAfterFill.push(await timed(() => install(root)));
      await rm(root, { recursive: true, force: true });

      // Asked as the daemon starts: the install waits for the fill, then takes nothing more into the kept copy.
      await dropKeptCopy();
      await mkdir(root, { mode: 0o755 });
      execFileSync('sync');
      times.installAtStart.push(await timed(() => Promise.all([fillKeptCopy(ctx, source), install(root)])));
      await rm(root, { recursive: true, force: true });

      // A check, then an install of the same, unchanged folder.
      await (await privateCopy(ctx, source)).remove();
      await mkdir(root, { mode: 0o755 });
      cpBefore.installAfterCheck.push(await cpTimed(run));
      execFileSync('sync');
      times.installAfterCheck.push(await timed(() => install(root)));
      await rm(root, { recursive: true, force: true });

      // A check after a check of the same, unchanged folder.
      execFileSync('sync');
      times.check.push(await timed(async () => (await privateCopy(ctx, source)).remove()));

      await mkdir(root, { mode: 0o755 });
      execFileSync('sync');
      times.stage.push(await timed(() => stageConfig(context(root, source, run), source)));
      await rm(root, { recursive: true, force: true });

      times.cp.push(await cpTimed(run));
    }
    const cp = median(times.cp);
    const ratio = (t: number[], by: number[] = times.cp) => median(t.map((took, run) => took / by[run]!));
    record('staging', 'The configuration\'s copies', [
      { name: 'install of a folder never checked, after the daemon filled its kept copy: private copy + check scan + stage + marker / cp -a', value: ratio(times.installAfterFill, cpBefore.installAfterFill), unit: '×', baseline: median(cpBefore.installAfterFill), baselineLabel: 'cp -a ms', goal: '<= 1.25', met: ratio(times.installAfterFill, cpBefore.installAfterFill) <= 1.25 },
      { name: 'install after a check of the unchanged folder / cp -a', value: ratio(times.installAfterCheck, cpBefore.installAfterCheck), unit: '×', baseline: median(cpBefore.installAfterCheck), baselineLabel: 'cp -a ms', goal: '<= 1.25', met: ratio(times.installAfterCheck, cpBefore.installAfterCheck) <= 1.25 },
      { name: 'install asked as the daemon starts: the fill it waits for + the install / cp -a', value: ratio(times.installAtStart), unit: '×', baseline: cp, baselineLabel: 'cp -a ms', goal: '(context)', met: null },
      { name: 'check of an unchanged folder, after a check / cp -a', value: ratio(times.check), unit: '×', baseline: cp, baselineLabel: 'cp -a ms', goal: '(context)', met: null },
      { name: 'stage phase alone / cp -a', value: ratio(times.stage), unit: '×', baseline: cp, baselineLabel: 'cp -a ms', goal: '(context)', met: null },
    ], [`${FILES} files, ${((FILES * FILE_BYTES) / 1e9).toFixed(2)} GB; ${Object.entries({ ...times, cpBeforeInstallAfterFill: cpBefore.installAfterFill, cpBeforeInstallAfterCheck: cpBefore.installAfterCheck }).map(([k, v]) => `${k} ${v.map((t) => t.toFixed(0)).join(', ')} ms`).join('; ')}`]);
  } finally {
    await dropKeptCopy();
    setEvalUser(null);
    await rm(dir, { recursive: true, force: true });
  }
});
