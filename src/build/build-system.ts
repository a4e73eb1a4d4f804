// Step 3: build the system in the live store, where the ISO's sources and build
// inputs are, with no substituters: nix-build <nixos-expr> -A system.
import { join } from 'node:path';
import type { JobContext } from '../job/context.js';
import { InstallError } from '../job/install-error.js';
import { runStepCommand } from '../job/run-step-command.js';
import { OFFLINE_NIX_OPTIONS } from './nix-options.js';
import { nixErrorLocation, nixErrorSummary, wantsNetwork } from './nix-error.js';

export function buildArgs(ctx: JobContext, configuration: string): string[] {
  const { nixosExpr, nixpkgs } = ctx.settings;
  return [
    nixosExpr,
    '-A',
    'system',
    // The ISO's own nixpkgs first, so `<nixpkgs/nixos>` never depends on NIX_PATH or a channel.
    ...(nixpkgs ? ['-I', `nixpkgs=${nixpkgs}`] : []),
    '-I',
    `nixos-config=${configuration}`,
    '--no-out-link',
    ...OFFLINE_NIX_OPTIONS,
  ];
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
      if (stream === 'stderr') output.push(line);
      const planned = /^these (\d+) derivations? will be built:/.exec(line);
      if (planned) toBuild = Number(planned[1]);
      else if (/^building '\/.+\.drv'/.test(line) && toBuild > 0) ctx.progress(Math.min(++built / toBuild, 1));
    },
    failure: (res) => {
      const summary = nixErrorSummary(output);
      if (wantsNetwork(output)) {
        return new InstallError(
          'needs-network',
          'The configuration needs something that is not on the ISO',
          `Building the system tried to download:\n${summary}\nThis installer works offline: rebuild the ISO from a configuration that includes this package (nix-cfg/), or remove it from ${source}.`,
        );
      }
      // Nix names the staged copy; the person edits the source folder.
      const where = nixErrorLocation(output);
      const inSource = where?.file.startsWith(`${etcNixos}/`)
        ? `\nThat is ${source}${where.file.slice(etcNixos.length)}, line ${where.line}, column ${where.column}.`
        : '';
      return new InstallError(
        'build-failed',
        'The system configuration could not be built',
        `nix-build exited with ${res.exitCode}. Nix said:\n${summary}${inSource}\nFix the configuration in ${source} and start the install again.`,
      );
    },
  });
  const toplevel = result.stdout.filter((line) => line.startsWith('/')).at(-1);
  if (!toplevel) {
    throw new InstallError('build-failed', 'The system build printed no result', 'nix-build succeeded but printed no store path. Check the NixOS expression given with --nixos-expr.');
  }
  ctx.log('build', `built ${toplevel}`);
  return toplevel;
}
