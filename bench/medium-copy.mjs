// Run by medium.bench.ts inside scripts/iso-store.sh (the ISO's /nix, in a
// mount namespace of its own): the product's copy phase (copyClosure, as the
// daemon runs it) of the closure in the image into a fresh target, against the
// floor: `cp -a` of the same paths straight from the squashfs into a fresh
// target. Before each timed copy the squashfs is mounted afresh, so neither
// finds the other's decompressed pages in the cache; each ends with syncfs of
// its target, so both pay for the writes. Prints the times as JSON.
//
//   node medium-copy.mjs IMAGE PATHS-FILE RUNS WORK
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { copyClosure } from '../dist/copy/copy-closure.js';
import { benchJobContext, freshMedium, run } from './in-iso-store.mjs';

const [image, pathsFile, runsText, work] = process.argv.slice(2);
const paths = readFileSync(pathsFile, 'utf8').trim().split('\n');

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function product(root) {
  await copyClosure(benchJobContext(root), paths[0], paths.slice(1));
  run('sync', ['-f', root]);
}

async function floor(root) {
  mkdirSync(join(root, 'nix/store'), { recursive: true });
  run('cp', ['-a', '-t', join(root, 'nix/store'), ...paths.map((p) => join('/nix/.ro-store', basename(p)))]);
  run('sync', ['-f', root]);
}

const times = { copy: [], floor: [] };
for (let i = 0; i < Number(runsText); i++) {
  // Alternating which goes first, so neither always runs on a quieter machine.
  const order = i % 2 === 0 ? ['copy', 'floor'] : ['floor', 'copy'];
  for (const which of order) {
    const root = join(work, `${which}-${i}`);
    mkdirSync(root, { mode: 0o755 });
    freshMedium(image);
    times[which].push(await timed(() => (which === 'copy' ? product(root) : floor(root))));
    rmSync(root, { recursive: true, force: true });
  }
}
process.stdout.write(`${JSON.stringify(times)}\n`);
