// The closure the medium benchmarks copy: real files of this machine's /usr,
// one store path per package folder as in a NixOS closure: many small files
// (docs, Python modules, Perl, time zones), some large libraries (ICU's data,
// z3, x265, librsvg). About 210 MB: mksquashfs at zstd level 19 and xz on 2
// shared cores is slow, so the images are kept in CACHE for the next run. The
// images hold their own registration, so a bed may take another bed's CACHE.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO, testEnv } from '../test/helpers/env.js';
import { QUICK } from './lib.js';

// nixpkgs' isoImage.squashfsCompression: the default since 24.11 (NixOS/nixpkgs#338652), and the one before it on x86.
export const COMPRESSIONS = { zstd: 'zstd -Xcompression-level 19', xz: 'xz -Xdict-size 100% -Xbcj x86' } as const;
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
export async function closureImages(): Promise<{ pathsFile: string; bytes: number; images: Record<keyof typeof COMPRESSIONS, string> }> {
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

