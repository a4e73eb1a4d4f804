// 6. The copy at the medium's speed: the copy phase from a store laid out as
// the ISO's (squashfs at /nix/.ro-store, overlay at /nix/store; scripts/iso-store.sh)
// against the floor, `cp -a` of the same paths from the squashfs to a fresh
// target, in the same run (bench/medium-copy.mjs), for each compression
// isoImage.squashfsCompression may take: nixpkgs' zstd and its earlier xz.
// The closure: bench/closure-images.ts.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { REPO, scratch, testEnv } from '../test/helpers/env.js';
import { COMPRESSIONS, closureImages } from './closure-images.js';
import { QUICK, median, record, type Figure } from './lib.js';

const RUNS = QUICK ? 1 : 5;

it('copy phase from the squashfs against cp -a from it', async () => {
  const { pathsFile, bytes, images: made } = await closureImages();
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
