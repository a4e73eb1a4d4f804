// The size of the system the disk must hold: the closure of the built
// toplevel, by the NAR sizes Nix records (nix path-info), as the copy stage counts them.
import { closureInfo, narBytes } from '../nix/commands.js';
import type { CommandContext } from '../common/context.js';

export interface ClosureSize {
  bytes: number;
  paths: number;
}

// Of TOPLEVEL, or of several paths together (a system and the flake inputs copied with it).
export async function closureSize(ctx: CommandContext, toplevel: string | readonly string[]): Promise<ClosureSize> {
  const paths = await closureInfo(ctx, toplevel);
  return { bytes: narBytes(paths), paths: paths.length };
}

export async function closureBytes(ctx: CommandContext, toplevel: string): Promise<number> {
  return (await closureSize(ctx, toplevel)).bytes;
}
