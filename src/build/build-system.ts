// Stage `build`: build the system in the live store, where the ISO's sources and build
// inputs are, with no substituters: <nixos-expr> -A system, or for a flake
// `path:<folder>#nixosConfigurations.NAME...toplevel` offline, its inputs
// taken from the store as flake.lock locks them. The eval user evaluates
// (src/nix/eval-user.ts), so it reads the prepared copy, which its group may
// read and which holds exactly what was staged; the staged <root>/etc/nixos
// keeps files only root may read. Root then realises the .drv.
import { join } from 'node:path';
import { buildAttribute, type NixFailureHandler } from '../nix/commands.js';
import { evalReadable } from '../nix/eval-readable.js';
import { describeNixFailure } from '../nix/errors.js';
import { buildFlakeAttribute, configurationAttr, flakeStoreCopy, folderFlakeRef } from '../nix/flake-commands.js';
import type { BuildProgress } from '../nix/log-format.js';
import { nixPathArgs, restrictedEvalArgs } from '../nix/options.js';
import type { JobContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';

// "building 2 of 5: linux-6.12", from Nix's own counts; a running build counts half.
export function buildDetail(progress: BuildProgress): { fraction: number; detail: string | null } {
  if (progress.expected === 0) return { fraction: 0, detail: null };
  const fraction = Math.min((progress.done + progress.running / 2) / progress.expected, 1);
  const current = progress.current.length > 0 ? `: ${progress.current.join(', ')}` : '';
  return { fraction, detail: `building ${Math.min(progress.done + 1, progress.expected)} of ${progress.expected}${current}` };
}

function reportBuild(ctx: JobContext) {
  return (progress: BuildProgress) => {
    const { fraction, detail } = buildDetail(progress);
    if (detail) ctx.progress(fraction, undefined, detail);
  };
}

async function buildFlake(ctx: JobContext, folder: string, source: string, configuration: string): Promise<string> {
  const ref = await folderFlakeRef(ctx, folder);
  // Error positions point into Nix's store copy of the folder.
  const failure = (staged: string | null): NixFailureHandler => (outcome) => {
    const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { source, ...(staged !== null && { staged }) });
    return new InstallError(problem.code, problem.title, `${outcome.command} exited with ${outcome.result.exitCode}. ${problem.description}`);
  };
  const copy = await flakeStoreCopy(ctx, ref, failure(null));
  const toplevel = await buildFlakeAttribute(ctx, ref, configurationAttr(configuration, 'config', 'system', 'build', 'toplevel'), reportBuild(ctx), failure(copy));
  ctx.log('build', `built ${toplevel} (flake configuration ${configuration})`);
  return toplevel;
}

// FOLDER is the prepared copy (what was checked and staged); errors name SOURCE.
export async function buildSystem(ctx: JobContext, folder: string, source: string, flakeConfiguration?: string): Promise<string> {
  if (flakeConfiguration !== undefined) return buildFlake(ctx, folder, source, flakeConfiguration);
  const { nixpkgs } = ctx.settings;
  const nixosExpr = evalReadable(ctx.settings.nixosExpr);
  const toplevel = await buildAttribute(
    ctx,
    nixosExpr,
    ['-A', 'system', ...nixPathArgs(nixpkgs, join(folder, 'configuration.nix')), ...restrictedEvalArgs([folder, nixosExpr])],
    reportBuild(ctx),
    (outcome) => {
      const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { source, staged: folder });
      return new InstallError(problem.code, problem.title, `${outcome.command} exited with ${outcome.result.exitCode}. ${problem.description}`);
    },
  );
  ctx.log('build', `built ${toplevel}`);
  return toplevel;
}
