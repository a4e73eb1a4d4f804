// One hash for a whole closure, the same on the seed and on a fleet target:
// SHA-256 over "<path> <NAR hash>" lines sorted by path, from the store's own
// records. nix-store's --query --hash prints "sha256:<base32>" on every Nix
// version (2.8 to 2.34), where path-info's JSON changed its hash format.
import { createHash } from 'node:crypto';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastMessages } from './commands.js';
import { OFFLINE_NIX_OPTIONS, targetStore } from './options.js';
import { runNix } from './run-nix.js';
import { checkedStorePaths } from './store-path.js';

export interface ClosureHash {
  // "sha256:<hex>"
  hash: string;
  paths: number;
}

// The closure of ROOTS in the live store (ROOT null) or in the target's store under ROOT.
export async function closureHash(ctx: CommandContext, roots: readonly string[], root: string | null): Promise<ClosureHash> {
  const store = root === null ? [] : ['--store', targetStore(root)];
  const where = root === null ? "the live system's store" : `the store under ${root}`;
  const query = async (what: string, operands: readonly string[]) => {
    const { result } = await runNix(ctx, {
      file: 'nix-store',
      source: 'nix-store --query',
      args: [...store, '--query', what, ...OFFLINE_NIX_OPTIONS],
      operands: checkedStorePaths(operands, 'A path of the closure'),
      captureStdout: true,
      logStdout: false,
      failure: (o) => new InstallError('closure-query-failed', `The closure could not be read from ${where}`, `nix-store --query ${what} exited with ${o.result.exitCode}:\n${lastMessages(o)}`),
    });
    return result.stdout.map((line) => line.trim()).filter(Boolean);
  };
  const paths = [...new Set(await query('--requisites', roots))].sort();
  const hashes = await query('--hash', paths);
  if (hashes.length !== paths.length) throw new InstallError('closure-query-failed', `The closure could not be read from ${where}`, `nix-store --query --hash gave ${hashes.length} hashes for ${paths.length} paths.`);
  const digest = createHash('sha256');
  paths.forEach((path, i) => digest.update(`${path} ${hashes[i]}\n`));
  return { hash: `sha256:${digest.digest('hex')}`, paths: paths.length };
}
