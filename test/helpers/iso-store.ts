// The store the ISO boots with, for the tests: a configuration's system
// built in this bed's store, its build closure made into a squashfs as the
// ISO's (scripts/iso-store-image.sh), then deleted from this bed's store again
// so an install can only succeed by reading the squashfs. startDaemon({
// isoStore }) runs the daemon on it (scripts/iso-store.sh).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { NIXOS_EXPR, REPO, testEnv } from './env.js';

export interface IsoStore {
  image: string;
  // The system the ISO carries (built from the configuration as given) and every path in the image.
  toplevel: string;
  paths: string[];
}

const nixStore = (args: string[]) => execFileSync('nix-store', args, { env: testEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export function buildIsoStore(dir: string, configFolder: string, compression: 'zstd' | 'xz' = 'zstd'): IsoStore {
  const drv = execFileSync('nix-instantiate', [NIXOS_EXPR, '-A', 'system', '-I', `nixos-config=${join(configFolder, 'configuration.nix')}`], { env: testEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const toplevel = nixStore(['--realise', drv]);
  const paths = nixStore(['--query', '--requisites', '--include-outputs', drv]).split('\n');
  const image = join(dir, `nix-store-${compression}.squashfs`);
  execFileSync('bash', [join(REPO, 'scripts/iso-store-image.sh'), image, compression, drv], { env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  // Gone from this bed's store: what an install then reads, it read from the image. The configuration's
  // payload names are the test's own (a nonce), so no other test's paths go with them.
  execFileSync('nix-store', ['--delete', ...paths], { env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return { image, toplevel, paths };
}
