// The facts the checks need about a configuration: declared normal users,
// enabled desktops, the system's derivation. For the configuration shipped on
// the ISO they come from the manifest made at ISO build time (instant); for any
// other folder (a technician's /tmp/nix-cfg) from evaluating it with the live
// system's Nix and nixpkgs through nix/config-facts.nix.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OFFLINE_NIX_OPTIONS, nixPathArgs } from '../build/nix-options.js';
import { describeNixFailure } from '../build/nix-error.js';
import type { CommandContext, JobSettings } from '../job/context.js';
import { InstallError } from '../job/install-error.js';
import { runStepCommand } from '../job/run-step-command.js';
import type { ConfigFacts } from '../protocol/messages.js';

export const FACTS_NIX = fileURLToPath(new URL('../../nix/config-facts.nix', import.meta.url));
export const MANIFEST_VERSION = 1;

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

// The manifest describes one folder (the ISO's nix-cfg); null when it does not describe this one.
export async function manifestFacts(manifest: string, source: string): Promise<ConfigFacts | null> {
  const text = await readFile(manifest, 'utf8').catch(() => null);
  if (text === null) return null;
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new InstallError('manifest-invalid', 'The ISO manifest is not valid JSON', `${manifest} could not be read as JSON. Rebuild the ISO.`);
  }
  if (data.version !== MANIFEST_VERSION || typeof data.configDir !== 'string' || !isStringList(data.users) || !isStringList(data.desktops)) {
    throw new InstallError('manifest-invalid', 'The ISO manifest is not one this installer reads', `${manifest} is not a version ${MANIFEST_VERSION} manifest with configDir, users and desktops. Rebuild the ISO with this installer's flake.`);
  }
  if (resolve(data.configDir) !== resolve(source)) return null;
  return {
    origin: 'manifest',
    users: data.users,
    desktops: data.desktops,
    drvPath: typeof data.drvPath === 'string' ? data.drvPath : null,
    toplevel: typeof data.toplevel === 'string' ? data.toplevel : null,
  };
}

export async function evaluateFacts(ctx: CommandContext, source: string, settings: JobSettings): Promise<ConfigFacts> {
  const output: string[] = [];
  const result = await runStepCommand(ctx, {
    file: 'nix-instantiate',
    // Read-write so that evaluating drvPath also writes the .drv files the dry run needs.
    args: ['--eval', '--strict', '--json', '--read-write-mode', FACTS_NIX, '--argstr', 'nixos', settings.nixosExpr, ...nixPathArgs(settings.nixpkgs, join(source, 'configuration.nix')), ...OFFLINE_NIX_OPTIONS],
    captureStdout: true,
    logStdout: false,
    onLine: (line, stream) => stream === 'stderr' && output.push(line),
    failure: () => {
      const problem = describeNixFailure(output, { source, evaluating: true });
      return new InstallError(problem.code, problem.title, problem.description);
    },
  });
  const facts = JSON.parse(result.stdout.join('\n')) as { users: string[]; desktops: string[]; drvPath: string };
  return { origin: 'evaluation', users: facts.users, desktops: facts.desktops, drvPath: facts.drvPath, toplevel: null };
}

export async function configFacts(ctx: CommandContext, source: string, settings: JobSettings): Promise<ConfigFacts> {
  const fromManifest = settings.manifest ? await manifestFacts(settings.manifest, source) : null;
  return fromManifest ?? evaluateFacts(ctx, source, settings);
}
