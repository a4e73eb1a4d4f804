// Step 3: build the system in the live store, where the ISO's sources and build
// inputs are, with no substituters: nix-build <nixos-expr> -A system.
import { join } from 'node:path';
import type { JobContext } from '../job/context.js';
import { InstallError } from '../job/install-error.js';
import { runStepCommand } from '../job/run-step-command.js';
import { OFFLINE_NIX_OPTIONS, nixPathArgs } from './nix-options.js';
import { describeNixFailure } from './nix-error.js';

// Nix's plan before building: "these 3 derivations will be built:" or "this derivation will be built:".
const KEPT_OUTPUT_LINES = 2000;

export const PLANNED_BUILDS = /^(?:these (\d+) derivations|this derivation) will be built:/;

export function buildArgs(ctx: JobContext, configuration: string): string[] {
  const { nixosExpr, nixpkgs } = ctx.settings;
  return [nixosExpr, '-A', 'system', ...nixPathArgs(nixpkgs, configuration), '--no-out-link', ...OFFLINE_NIX_OPTIONS];
}

export async function buildSystem(ctx: JobContext, etcNixos: string, source: string): Promise<string> {
  const configuration = join(etcNixos, 'configuration.nix');
  const output: string[] = [];
  let toBuild = 0;
  let built = 0;
  const result = await runStepCommand(ctx, {
    file: 'nix-build',
    args: buildArgs(ctx, configuration),
    captureStdout: true,
    onLine: (line, stream) => {
      // Nix's error is at the end of its output; a long build's earlier lines are in the log.
      if (stream === 'stderr' && output.push(line) > KEPT_OUTPUT_LINES) output.splice(0, output.length - KEPT_OUTPUT_LINES / 2);
      const planned = PLANNED_BUILDS.exec(line);
      if (planned) toBuild = planned[1] ? Number(planned[1]) : 1;
      else if (/^building '\/.+\.drv'/.test(line) && toBuild > 0) ctx.progress(Math.min(++built / toBuild, 1));
    },
    failure: (res) => {
      const problem = describeNixFailure(output, { source, staged: etcNixos });
      return new InstallError(problem.code, problem.title, `nix-build exited with ${res.exitCode}. ${problem.description}`);
    },
  });
  const toplevel = result.stdout.filter((line) => line.startsWith('/')).at(-1);
  if (!toplevel) {
    throw new InstallError('build-failed', 'The system build printed no result', 'nix-build succeeded but printed no store path. Check the NixOS expression given with --nixos-expr.');
  }
  ctx.log('build', `built ${toplevel}`);
  return toplevel;
}
