// Would the system build with nothing but the local store? A dry run of its
// realisation with no substituters lists what would have to be built; a
// fixed-output derivation among those (one with an output hash: a download)
// means the configuration needs something that is not on the ISO.
import { dryRun, nixVersion, showDerivations, storeName } from '../nix/commands.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import type { Download } from '../protocol/messages.js';

export interface Completeness {
  // Derivations the build would run locally (downloads included).
  toBuild: string[];
  downloads: Download[];
}

export async function checkCompleteness(ctx: CommandContext, drvPath: string): Promise<Completeness> {
  const { toBuild, toFetch, unknown } = await dryRun(ctx, drvPath);
  if (unknown.length > 0) {
    throw new InstallError('dry-run-failed', 'The offline check could not run', `Nix does not know how to build:\n${unknown.map((p) => `  ${p}`).join('\n')}\nThe system's derivation is not in the store; check the NixOS expression (--nixos-expr).`);
  }
  const downloads: Download[] = toFetch.map((path) => ({ name: storeName(path), drv: path, urls: [] }));
  if (toBuild.length > 0) {
    const shown = await showDerivations(ctx, toBuild, await nixVersion(ctx));
    for (const [drv, facts] of shown) if (facts.fixedOutput) downloads.push({ name: storeName(drv), drv, urls: facts.urls });
  }
  return { toBuild, downloads: downloads.sort((a, b) => a.name.localeCompare(b.name)) };
}
