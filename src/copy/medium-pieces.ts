// What each store path reads from the live medium, when the live store is the
// ISO's (a squashfs under /nix/store): the copy's time left follows it.
import type { JobContext } from '../common/context.js';
import type { MediumPieces } from './copy-progress.js';
import { LIVE_STORE_MEDIUM, mounts } from '../fs/mounts.js';
import { squashfsPieces } from '../fs/squashfs-pieces.js';

// The pieces of the medium each store path reads (squashfs-pieces.ts), by name; null where the store is no
// squashfs that can be read (a netbooted or an installed system's, an xz image): the time left then counts NAR bytes.
export async function liveMediumPieces(ctx: JobContext): Promise<MediumPieces | null> {
  const medium = (await mounts()).findLast((m) => m.mountPoint === LIVE_STORE_MEDIUM && m.fsType === 'squashfs');
  if (!medium) return null;
  try {
    const pieces = await squashfsPieces(medium.source);
    ctx.log('copy', pieces ? `live medium ${medium.source}: ${pieces.size} entries read for the time left` : `live medium ${medium.source}: compression not read here; the time left counts NAR bytes`);
    return pieces;
  } catch (error) {
    ctx.log('copy', `live medium ${medium.source} not read (${(error as Error).message}); the time left counts NAR bytes`);
    return null;
  }
}
