// What each store path reads from the live medium, when the live store is the
// ISO's (a squashfs under /nix/store), and what the medium has served so far:
// the copy's time left follows them.
import type { JobContext } from '../common/context.js';
import type { MediumPieces } from './copy-progress.js';
import { backingDeviceReads, type DeviceReads } from '../fs/device-reads.js';
import { LIVE_STORE_MEDIUM, mounts } from '../fs/mounts.js';
import { squashfsPieces } from '../fs/squashfs-pieces.js';

export interface LiveMedium {
  // The pieces of the medium each store path reads (squashfs-pieces.ts), by name.
  pieces: MediumPieces;
  // The bytes the stick or CD under the squashfs has served, where its device counts them (device-reads.ts).
  reads: DeviceReads | null;
}

// Null where the store is no squashfs that can be read (a netbooted or an installed system's, an xz image):
// the time left then counts NAR bytes.
export async function liveMedium(ctx: JobContext): Promise<LiveMedium | null> {
  const medium = (await mounts()).findLast((m) => m.mountPoint === LIVE_STORE_MEDIUM && m.fsType === 'squashfs');
  if (!medium) return null;
  try {
    const pieces = await squashfsPieces(medium.source);
    if (!pieces) {
      ctx.log('copy', `live medium ${medium.source}: compression not read here; the time left counts NAR bytes`);
      return null;
    }
    const reads = await backingDeviceReads(medium.source);
    ctx.log('copy', `live medium ${medium.source}: ${pieces.size} entries read for the time left; ${reads ? "its device's reads counted" : 'no device under it counts its reads'}`);
    return { pieces, reads };
  } catch (error) {
    ctx.log('copy', `live medium ${medium.source} not read (${(error as Error).message}); the time left counts NAR bytes`);
    return null;
  }
}
