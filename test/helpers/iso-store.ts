// The store the ISO boots with, for the tests: a configuration's system
// built in this bed's store, its build closure made into a squashfs as the
// ISO's (scripts/iso-store-image.sh), then deleted from this bed's store again
// so an install can only succeed by reading the squashfs. startDaemon({
// isoStore }) runs the daemon on it (scripts/iso-store.sh). isoStoreBed and
// endIsoStoreTest are the set-up and clean-up of the tests that use one.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FailingMedium } from './bad-medium.js';
import { writeConfig, type ConfigSpec } from './config.js';
import type { RunningDaemon } from './daemon.js';
import { NIXOS_EXPR, REPO, scratchWithRoot, testEnv } from './env.js';
import { endDiskTest } from './loop-disk.js';

export interface IsoStore {
  image: string;
  // The system the ISO carries (built from the configuration as given) and every path in the image.
  toplevel: string;
  paths: string[];
  // Where each store path that is one file of 64 KiB or more starts in the image (squashfs stores a
  // block of incompressible data as it is), for a test that damages it.
  offsets: Map<string, number>;
}

const PROBE_BYTES = 4096;

const nixStore = (args: string[]) => execFileSync('nix-store', args, { env: testEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export function buildIsoStore(dir: string, configFolder: string, compression: 'zstd' | 'xz' = 'zstd'): IsoStore {
  const drv = execFileSync('nix-instantiate', [NIXOS_EXPR, '-A', 'system', '-I', `nixos-config=${join(configFolder, 'configuration.nix')}`], { env: testEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const toplevel = nixStore(['--realise', drv]);
  const paths = nixStore(['--query', '--requisites', '--include-outputs', drv]).split('\n');
  const image = join(dir, `nix-store-${compression}.squashfs`);
  execFileSync('bash', [join(REPO, 'scripts/iso-store-image.sh'), image, compression, drv], { env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const bytes = readFileSync(image);
  const offsets = new Map<string, number>();
  for (const path of paths) {
    const info = statSync(path);
    if (!info.isFile() || info.size < 64 * 1024) continue;
    const at = bytes.indexOf(readFileSync(path).subarray(0, PROBE_BYTES));
    if (at >= 0) offsets.set(path, at);
  }
  // Gone from this bed's store: what an install then reads, it read from the image. The configuration's
  // payload names are the test's own (a nonce), so no other test's paths go with them.
  execFileSync('nix-store', ['--delete', ...paths], { env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return { image, toplevel, paths, offsets };
}

export interface IsoStoreBed {
  dir: string;
  // An empty target root, a mount point.
  root: string;
  // The configuration, DIR/nix-cfg.
  source: string;
  iso: IsoStore;
}

// A scratch folder named after PREFIX with an empty target root, a configuration as SPEC gives it for a nonce
// (its payloads named with it, so deleting the closure from this bed's store touches no other test's paths),
// and the ISO store of its system.
export async function isoStoreBed(prefix: string, spec: (nonce: string) => ConfigSpec): Promise<IsoStoreBed> {
  const { dir, root } = await scratchWithRoot(prefix);
  const source = await writeConfig(join(dir, 'nix-cfg'), spec(randomBytes(4).toString('hex')));
  return { dir, root, source, iso: buildIsoStore(dir, source) };
}

// After each test: its daemon stopped before the medium it reads, then its mounts and disks undone, its folder gone.
export async function endIsoStoreTest(dir: string, daemon: RunningDaemon | null, medium: FailingMedium | null): Promise<void> {
  await daemon?.stop();
  await medium?.stop();
  await endDiskTest(dir, null);
}
