// 6. The copy at the medium's speed: the copy phase from a store laid out as
// the ISO's (squashfs at /nix/.ro-store, overlay at /nix/store; scripts/iso-store.sh)
// against the floor, `cp -a` of the same paths from the squashfs to a fresh
// target, in the same run (bench/medium-copy.mjs), for each compression
// isoImage.squashfsCompression may take: nixpkgs' zstd and its earlier xz.
// The closure is real files of this machine's /usr, one store path per
// package folder as in a NixOS closure: many small files (docs, Python
// modules, Perl, time zones), some large libraries (ICU's data, z3, x265,
// librsvg). About 180 MB: mksquashfs at zstd level 19 and xz on 2 shared
// cores is slow.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { REPO, scratch, testEnv } from '../test/helpers/env.js';
import { QUICK, median, record, type Figure } from './lib.js';

// nixpkgs' isoImage.squashfsCompression: the default since 24.11 (NixOS/nixpkgs#338652), and the one before it on x86.
const COMPRESSIONS = { zstd: 'zstd -Xcompression-level 19', xz: 'xz -Xdict-size 100% -Xbcj x86' } as const;
const RUNS = QUICK ? 1 : 5;
const CACHE = join('/var/tmp', `noi-bench-medium-${QUICK ? 'quick' : 'full'}`);
const STORE_NAME = /^[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*$/;

const inFolder = (dir: string, limit = Infinity) =>
  existsSync(dir) ? readdirSync(dir).filter((n) => STORE_NAME.test(n)).slice(0, limit).map((n) => join(dir, n)) : [];

function sources(): string[] {
  if (QUICK) return [...inFolder('/usr/share/doc', 50), '/usr/share/zoneinfo', '/usr/lib/x86_64-linux-gnu/perl'].filter((p) => existsSync(p));
  const python = inFolder('/usr/lib').filter((p) => /\/python3\.\d+$/.test(p)).flatMap((p) => inFolder(p).filter((q) => statSync(q).isDirectory()));
  const libs = ['libicudata.so.72.1', 'libz3.so.4', 'libx265.so.199', 'librsvg-2.so.2.48.0'].map((n) => join('/usr/lib/x86_64-linux-gnu', n));
  const whole = [...libs, '/usr/share/perl', '/usr/share/zoneinfo', '/usr/lib/x86_64-linux-gnu/perl'];
  return [...inFolder('/usr/share/doc', 250), ...python, ...whole.filter((p) => existsSync(p))];
}

const du = (paths: readonly string[]) => Number(execFileSync('du', ['-scb', ...paths], { encoding: 'utf8' }).trim().split('\n').pop()!.split('\t')[0]);

// The closure in this machine's store, then one image per compression; kept in CACHE for the next run.
async function images(): Promise<{ pathsFile: string; bytes: number; images: Record<keyof typeof COMPRESSIONS, string> }> {
  await mkdir(CACHE, { recursive: true });
  const pathsFile = join(CACHE, 'paths.txt');
  const bytesFile = join(CACHE, 'bytes.txt');
  const out = Object.fromEntries(Object.keys(COMPRESSIONS).map((c) => [c, join(CACHE, `nix-store-${c}.squashfs`)])) as Record<keyof typeof COMPRESSIONS, string>;
  if (existsSync(pathsFile) && Object.values(out).every((image) => existsSync(image))) {
    return { pathsFile, bytes: Number(execFileSync('cat', [bytesFile], { encoding: 'utf8' })), images: out };
  }
  const from = sources();
  const paths = execFileSync('nix-store', ['--add', ...from], { env: testEnv(), encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n');
  try {
    writeFileSync(pathsFile, `${paths.join('\n')}\n`);
    writeFileSync(bytesFile, String(du(paths)));
    for (const [name, comp] of Object.entries(COMPRESSIONS)) {
      const image = out[name as keyof typeof COMPRESSIONS];
      execFileSync('bash', [join(REPO, 'scripts/iso-store-image.sh'), `${image}.part`, comp, ...paths], { env: testEnv(), stdio: ['ignore', 'inherit', 'inherit'] });
      execFileSync('mv', [`${image}.part`, image]);
    }
  } finally {
    // Only the images hold the closure; this machine's store is left as it was.
    execFileSync('nix-store', ['--delete', ...paths], { env: testEnv(), stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return { pathsFile, bytes: Number(execFileSync('cat', [bytesFile], { encoding: 'utf8' })), images: out };
}

it('copy phase from the squashfs against cp -a from it', async () => {
  const { pathsFile, bytes, images: made } = await images();
  const dir = await scratch('bench-medium');
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    for (const [name, image] of Object.entries(made)) {
      const work = join(dir, name);
      await mkdir(work, { mode: 0o755 });
      const output = execFileSync('bash', [join(REPO, 'scripts/iso-store.sh'), image, '--', process.execPath, join(REPO, 'bench/medium-copy.mjs'), image, pathsFile, String(RUNS), work], {
        env: testEnv(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const times = JSON.parse(output.trim().split('\n').pop()!) as { copy: number[]; floor: number[] };
      const ratio = median(times.copy) / median(times.floor);
      const imageMB = statSync(image).size / 1e6;
      figures.push(
        { name: `copy phase / cp -a from the squashfs, ${name}`, value: ratio, unit: '×', baseline: median(times.floor) / 1000, baselineLabel: 'cp -a s', goal: '<= 1.10', met: ratio <= 1.1 },
        { name: `copy phase, ${name}`, value: median(times.copy) / 1000, unit: 's', baseline: null, baselineLabel: null, goal: '(context)', met: null },
        { name: `image size, ${name} (${COMPRESSIONS[name as keyof typeof COMPRESSIONS]})`, value: imageMB, unit: 'MB', baseline: bytes / 1e6, baselineLabel: 'closure MB', goal: '(context)', met: null },
      );
      notes.push(`${name}: copy ${times.copy.map((t) => t.toFixed(0)).join(', ')} ms; cp -a ${times.floor.map((t) => t.toFixed(0)).join(', ')} ms; image ${imageMB.toFixed(0)} MB`);
      await rm(work, { recursive: true, force: true });
    }
    const paths = execFileSync('wc', ['-l', pathsFile], { encoding: 'utf8' }).trim().split(' ')[0];
    record('medium', 'Copy phase at the medium\'s speed', figures, [`closure: ${paths} store paths, ${(bytes / 1e6).toFixed(0)} MB of this machine's /usr`, ...notes]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
