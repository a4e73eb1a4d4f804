// The size of the system the disk must hold: the closure of the built
// toplevel, by the NAR sizes Nix records (nix path-info), as the copy stage counts them.
import { closureInfo } from '../nix/commands.js';
import type { CommandContext } from '../common/context.js';

export async function closureBytes(ctx: CommandContext, toplevel: string): Promise<number> {
  const paths = await closureInfo(ctx, toplevel);
  return paths.reduce((sum, p) => sum + p.narSize, 0);
}
