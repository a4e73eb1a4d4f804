// The facts the checks need about a configuration: declared normal users,
// enabled desktops, the system's derivation. For the configuration shipped on
// the ISO they come from the manifest made at ISO build time (instant); for any
// other folder (a technician's /tmp/nix-cfg) from evaluating it with the live
// system's Nix and nixpkgs through nix/config-facts.nix.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateJson } from '../nix/commands.js';
import { describeNixFailure } from '../nix/errors.js';
import { nixPathArgs } from '../nix/options.js';
import type { CommandContext, JobSettings } from '../step/context.js';
import { InstallError } from '../step/install-error.js';
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
    ...(typeof data.closureBytes === 'number' && Number.isSafeInteger(data.closureBytes) && data.closureBytes >= 0 && { closureBytes: data.closureBytes }),
  };
}

type EvaluatedFacts = Omit<ConfigFacts, 'origin' | 'toplevel'> & { drvPath: string };

// EVALUATE_IN is the folder Nix reads (the prepared copy); errors name SOURCE, the folder the person edits.
export async function evaluateFacts(ctx: CommandContext, source: string, settings: JobSettings, evaluateIn: string = source): Promise<ConfigFacts> {
  const facts = await evaluateJson<EvaluatedFacts>(
    ctx,
    FACTS_NIX,
    ['--argstr', 'nixos', settings.nixosExpr, ...nixPathArgs(settings.nixpkgs, join(evaluateIn, 'configuration.nix'))],
    (outcome) => {
      const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { source, staged: evaluateIn, evaluating: true });
      return new InstallError(problem.code, problem.title, problem.description);
    },
  );
  const { users, desktops, drvPath, mutableUsers, usersWithoutPassword, bootLoader, settings: values } = facts;
  return { origin: 'evaluation', users, desktops, drvPath, toplevel: null, mutableUsers, usersWithoutPassword, bootLoader, settings: values };
}

// The manifest's facts when it describes this folder as shipped; otherwise the folder is evaluated.
export async function configFacts(ctx: CommandContext, source: string, settings: JobSettings, prepared?: { folder: string; asShipped: boolean }): Promise<ConfigFacts> {
  const fromManifest = settings.manifest && (prepared?.asShipped ?? true) ? await manifestFacts(settings.manifest, source) : null;
  return fromManifest ?? evaluateFacts(ctx, source, settings, prepared?.folder);
}
