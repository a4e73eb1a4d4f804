// `nixos-offline-installer check-medium`: reads every store path the live
// system carries (on the ISO: the squashfs's, so every system and hardware
// variant the ISO can install) and compares each with the NAR hash
// registered for it, as the copy would find it. Batches of paths go to one
// `nix-store --verify-path` each; a batch that fails is checked path by
// path, so each damaged path is named with Nix's own words.
import { closureInfo, narBytes, type StorePathInfo } from '../nix/commands.js';
import { allStorePaths, verifyPaths } from '../nix/verify-store.js';
import type { CommandContext } from '../common/context.js';

const BATCH_BYTES = 256 * 1024 * 1024;
const BATCH_PATHS = 200;

export interface MediumProgress {
  pathsDone: number;
  pathsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  // From the bytes read so far and the time taken; null until something was read.
  secondsLeft: number | null;
}

export interface DamagedPath {
  path: string;
  said: string;
}

export interface MediumReport {
  ok: boolean;
  paths: number;
  bytes: number;
  seconds: number;
  damaged: DamagedPath[];
}

function batches(paths: readonly StorePathInfo[]): StorePathInfo[][] {
  const out: StorePathInfo[][] = [];
  let current: StorePathInfo[] = [];
  let bytes = 0;
  for (const p of paths) {
    if (current.length > 0 && (bytes + p.narSize > BATCH_BYTES || current.length >= BATCH_PATHS)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.narSize;
  }
  if (current.length > 0) out.push(current);
  return out;
}

// ROOTS: check their closures; none: every valid path in the store.
export async function checkMedium(ctx: CommandContext, roots: readonly string[], onProgress: (p: MediumProgress) => void): Promise<MediumReport> {
  const started = Date.now();
  const paths = roots.length > 0 ? await closureInfo(ctx, roots) : await allStorePaths(ctx);
  const bytesTotal = narBytes(paths);
  const damaged: DamagedPath[] = [];
  let pathsDone = 0;
  let bytesDone = 0;
  const report = () => {
    const elapsed = (Date.now() - started) / 1000;
    onProgress({ pathsDone, pathsTotal: paths.length, bytesDone, bytesTotal, secondsLeft: bytesDone > 0 ? Math.round((elapsed * (bytesTotal - bytesDone)) / bytesDone) : null });
  };
  report();
  for (const batch of batches(paths)) {
    const said = await verifyPaths(ctx, batch.map((p) => p.path));
    if (said !== null) {
      for (const p of batch) {
        const one = batch.length === 1 ? said : await verifyPaths(ctx, [p.path]);
        if (one !== null) damaged.push({ path: p.path, said: one.slice(-4).join('\n') });
      }
    }
    pathsDone += batch.length;
    bytesDone += narBytes(batch);
    report();
  }
  return { ok: damaged.length === 0, paths: paths.length, bytes: bytesTotal, seconds: Math.round((Date.now() - started) / 100) / 10, damaged };
}
