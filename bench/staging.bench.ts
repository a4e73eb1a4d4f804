// 3. The configuration's handling in an install and in a check, for a folder
// of 1 GB in 10 000 files, against one `cp -a` of the same tree (baseline,
// same run; medians over runs of each run's ratio):
// - an install: the private copy of the hardware phase (as on the ISO, shared
//   with an eval user's group; the check uses its scan), the stage phase from
//   it and the marker of the staged folder; once after the
//   daemon's fill of the kept copy (it fills it when it first sees the folder,
//   in the background), once after a check of the same folder (Calamares checks
//   before it installs), and once asked the moment the daemon starts, so that
//   it waits for the fill (fill and install timed together: the worst case);
// - a check of the folder after a check of it unchanged (a private copy each);
// - the stage phase alone.
// Laid out as on the ISO: the folder on tmpfs (/tmp/nix-cfg, dropped in by a
// technician), the daemon's copies under a tmpfs /tmp, and the target a freshly
// made ext4 (a loop device) for every install and every `cp -a`. On a file
// system where 10 000 files were just deleted, ext4's inode allocator spends
// most of a copy's time skipping their inodes (recently_deleted), which made
// the same copy take 0.7-5 s from one run to the next.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { markStagedConfig, stageConfig } from '../src/stage/stage-config.js';
import { dropKeptCopy, fillKeptCopy, privateCopy } from '../src/prepare/private-copy.js';
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

// A fresh ext4 at DIR/target for one measurement (inode tables written by mkfs, so no lazy init runs meanwhile).
async function withFreshFs<T>(dir: string, fn: (mount: string) => Promise<T>): Promise<T> {
  const image = join(dir, 'target.img');
  const mount = join(dir, 'target');
  await rm(image, { force: true });
  execFileSync('truncate', ['--size', QUICK ? '256M' : '3G', '--', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', '--', image]);
  await mkdir(mount, { recursive: true });
  execFileSync('mount', ['-o', 'loop', '--', image, mount]);
  try {
    execFileSync('sync');
    return await fn(mount);
  } finally {
    execFileSync('umount', ['--', mount]);
    await rm(image, { force: true });
  }
}

it('configuration handling', async () => {
  const tree = join('/var/tmp', `noi-bench-stage-${FILES}`);
  await makeTree(tree);
  const dir = await scratch('bench-stage');
  // The live system's RAM: the dropped-in folder and the daemon's /tmp.
  const live = join(dir, 'live');
  await mkdir(live);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4g,mode=0755', 'bench-live', live]);
  const source = join(live, 'nix-cfg');
  execFileSync('cp', ['-a', '--', tree, source]);
  const tmp = join(live, 'tmp');
  await mkdir(tmp, { mode: 0o1777 });
  const tmpdirBefore = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  // As on the ISO: the prepared copy is shared with the eval user's group (nogroup here).
  setEvalUser({ name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' });
  const times = { installAfterFill: [] as number[], installAfterCheck: [] as number[], installAtStart: [] as number[], check: [] as number[], stage: [] as number[], cp: [] as number[], tar: [] as number[] };
  // Each goal's figure is divided by a `cp -a` timed just before it, run by run; the others by the run's last `cp -a`.
  const cpBefore = { installAfterFill: [] as number[], installAfterCheck: [] as number[] };
  const cpTimed = () => withFreshFs(dir, (target) => timed(async () => execFileSync('cp', ['-a', '--', source, join(target, 'nixos')])));
  // A second floor: cp -a between two file systems reads and writes through a buffer it allocates for each file
  // (glibc maps and unmaps it, a TLB shootdown each on this VM); a tar pipe keeps one.
  const tarTimed = () =>
    withFreshFs(dir, (target) => timed(async () => execFileSync('sh', ['-c', 'mkdir -- "$2" && tar -C "$1" -cf - . | tar -C "$2" -xpf -', 'sh', source, join(target, 'nixos')])));
  const onFreshTarget = (run: (root: string) => Promise<unknown>) =>
    withFreshFs(dir, async (root) => {
      await mkdir(join(root, 'etc'), { mode: 0o755 });
      return timed(() => run(root));
    });
  try {
    for (let run = 0; run < (QUICK ? 1 : 3); run++) {
      const install = async (root: string) => {
        const ctx = context(root, source, run);
        const copy = await privateCopy(ctx, source);
        try {
          await stageConfig(ctx, copy.folder, source, 'roots-alone');
          await markStagedConfig(ctx);
        } finally {
          await copy.remove();
        }
      };
      const ctx = context('/nonexistent', source, run);
      // The folder never checked: the daemon filled the kept copy when it saw it.
      await dropKeptCopy();
      await fillKeptCopy(ctx, source);
      cpBefore.installAfterFill.push(await cpTimed());
      times.installAfterFill.push(await onFreshTarget(install));

      // Asked as the daemon starts: the install waits for the fill, then takes nothing more into the kept copy.
      await dropKeptCopy();
      times.installAtStart.push(await onFreshTarget((root) => Promise.all([fillKeptCopy(ctx, source), install(root)])));

      // A check, then an install of the same, unchanged folder.
      await (await privateCopy(ctx, source)).remove();
      cpBefore.installAfterCheck.push(await cpTimed());
      times.installAfterCheck.push(await onFreshTarget(install));

      // A check after a check of the same, unchanged folder.
      execFileSync('sync');
      times.check.push(await timed(async () => (await privateCopy(ctx, source)).remove()));

      times.stage.push(await onFreshTarget((root) => stageConfig(context(root, source, run), source)));
      times.cp.push(await cpTimed());
      times.tar.push(await tarTimed());
    }
    const cp = median(times.cp);
    const ratio = (t: number[], by: number[] = times.cp) => median(t.map((took, run) => took / by[run]!));
    record('staging', 'The configuration\'s copies (folder on tmpfs, each target a fresh ext4)', [
      { name: 'install of a folder never checked, after the daemon filled its kept copy: private copy + stage + marker / cp -a', value: ratio(times.installAfterFill, cpBefore.installAfterFill), unit: '×', baseline: median(cpBefore.installAfterFill), baselineLabel: 'cp -a ms', goal: '<= 1.25', met: ratio(times.installAfterFill, cpBefore.installAfterFill) <= 1.25 },
      { name: 'install after a check of the unchanged folder / cp -a', value: ratio(times.installAfterCheck, cpBefore.installAfterCheck), unit: '×', baseline: median(cpBefore.installAfterCheck), baselineLabel: 'cp -a ms', goal: '<= 1.25', met: ratio(times.installAfterCheck, cpBefore.installAfterCheck) <= 1.25 },
      { name: 'install asked as the daemon starts: the fill it waits for + the install / cp -a', value: ratio(times.installAtStart), unit: '×', baseline: cp, baselineLabel: 'cp -a ms', goal: '(context)', met: null },
      { name: 'check of an unchanged folder, after a check / cp -a', value: ratio(times.check), unit: '×', baseline: cp, baselineLabel: 'cp -a ms', goal: '(context)', met: null },
      { name: 'stage phase alone / cp -a', value: ratio(times.stage), unit: '×', baseline: cp, baselineLabel: 'cp -a ms', goal: '(context)', met: null },
      { name: 'install of a folder never checked / a tar pipe (tar -c | tar -xp)', value: ratio(times.installAfterFill, times.tar), unit: '×', baseline: median(times.tar), baselineLabel: 'tar pipe ms', goal: '(context)', met: null },
      { name: 'install after a check / a tar pipe', value: ratio(times.installAfterCheck, times.tar), unit: '×', baseline: median(times.tar), baselineLabel: 'tar pipe ms', goal: '(context)', met: null },
      { name: 'stage phase alone / a tar pipe', value: ratio(times.stage, times.tar), unit: '×', baseline: median(times.tar), baselineLabel: 'tar pipe ms', goal: '(context)', met: null },
    ], [`${FILES} files, ${((FILES * FILE_BYTES) / 1e9).toFixed(2)} GB; ${Object.entries({ ...times, cpBeforeInstallAfterFill: cpBefore.installAfterFill, cpBeforeInstallAfterCheck: cpBefore.installAfterCheck }).map(([k, v]) => `${k} ${v.map((t) => t.toFixed(0)).join(', ')} ms`).join('; ')}`]);
  } finally {
    await dropKeptCopy();
    setEvalUser(null);
    if (tmpdirBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdirBefore;
    execFileSync('umount', ['--', live]);
    await rm(dir, { recursive: true, force: true });
  }
});
