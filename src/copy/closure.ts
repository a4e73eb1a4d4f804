// What the copy stage has to move: the system's closure with each path's NAR
// size, less what is already valid in the target store.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { invalidInTarget } from '../nix/commands.js';
import type { JobContext } from '../common/context.js';
import { makeTargetStoreFolders } from './target-store-folders.js';

// The target store's database: a target without it holds no valid path yet.
export const TARGET_NIX_DB = 'nix/var/nix/db/db.sqlite';

// Paths nix copy will skip because the target already has them (a resumed install).
export async function validInTarget(ctx: JobContext, paths: readonly string[]): Promise<Set<string>> {
  // A target without a Nix database has no valid path: no need to ask.
  if (!existsSync(join(ctx.root, TARGET_NIX_DB))) return new Set();
  await makeTargetStoreFolders(ctx.root);
  const invalid = await invalidInTarget(ctx, ctx.root, paths);
  return new Set(paths.filter((path) => !invalid.has(path)));
}
