// Step 3: build the system in the live store, where the ISO's sources and build
// inputs are, with no substituters: nix-build <nixos-expr> -A system.
import { join } from 'node:path';
import { buildAttribute } from '../nix/commands.js';
import { describeNixFailure } from '../nix/errors.js';
import type { BuildProgress } from '../nix/log-format.js';
import { nixPathArgs, restrictedEvalArgs } from '../nix/options.js';
import type { JobContext } from '../step/context.js';
import { InstallError } from '../step/install-error.js';

// "building 2 of 5: linux-6.12", from Nix's own counts; a running build counts half.
export function buildDetail(progress: BuildProgress): { fraction: number; detail: string | null } {
  if (progress.expected === 0) return { fraction: 0, detail: null };
  const fraction = Math.min((progress.done + progress.running / 2) / progress.expected, 1);
  const current = progress.current.length > 0 ? `: ${progress.current.join(', ')}` : '';
  return { fraction, detail: `building ${Math.min(progress.done + 1, progress.expected)} of ${progress.expected}${current}` };
}

export async function buildSystem(ctx: JobContext, etcNixos: string, source: string): Promise<string> {
  const { nixosExpr, nixpkgs } = ctx.settings;
  const toplevel = await buildAttribute(
    ctx,
    nixosExpr,
    ['-A', 'system', ...nixPathArgs(nixpkgs, join(etcNixos, 'configuration.nix')), ...restrictedEvalArgs([etcNixos, nixosExpr])],
    (progress) => {
      const { fraction, detail } = buildDetail(progress);
      if (detail) ctx.progress(fraction, undefined, detail);
    },
    (outcome) => {
      const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { source, staged: etcNixos });
      return new InstallError(problem.code, problem.title, `nix-build exited with ${outcome.result.exitCode}. ${problem.description}`);
    },
  );
  ctx.log('build', `built ${toplevel}`);
  return toplevel;
}
