// The facts the checks need about a configuration: declared normal users,
// enabled desktops, the system's derivation. For the configuration shipped on
// the ISO they come from the manifest made at ISO build time (instant); for any
// other folder (a technician's /tmp/nix-cfg) from evaluating it with the live
// system's Nix and nixpkgs through nix/config-facts.nix.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateJson } from '../nix/commands.js';
import { isDerivationPath, isStorePath } from '../nix/store-path.js';
import { evalReadable } from '../nix/eval-readable.js';
import { describeNixFailure, type ConfigPlace } from '../nix/errors.js';
import { configurationAttr, evaluateFlakeJson, nixString } from '../nix/flake-commands.js';
import { nixPathArgs, restrictedEvalArgs } from '../nix/options.js';
import type { CommandContext, JobSettings } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { CHOICE_SETTINGS } from '../protocol/choice-options.js';
import type { ChoiceSetting } from '../protocol/vocabularies.js';
import type { ConfigFacts, DiskoFacts, FlakeInput } from '../protocol/config-facts.js';

export const FACTS_NIX = fileURLToPath(new URL('../../nix/config-facts.nix', import.meta.url));
const DESKTOPS_JSON = fileURLToPath(new URL('../../nix/desktops.json', import.meta.url));
const CHOICE_OPTIONS_JSON = fileURLToPath(new URL('../../nix/choice-options.json', import.meta.url));
export const MANIFEST_VERSION = 1;

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

// What the manifest of an ISO whose nix-cfg is a flake adds (nix/flake-config.nix):
// the configuration built into the ISO, every configuration's hostName, the locked inputs.
export interface ManifestFlake {
  configuration: string;
  hostNames: Record<string, string | null>;
  inputs: FlakeInput[];
}

function manifestFlake(value: unknown): ManifestFlake | null | undefined {
  if (value === undefined || value === null) return undefined;
  const data = value as { configuration?: unknown; configurations?: unknown; inputs?: unknown };
  if (typeof data.configuration !== 'string' || !data.configurations || typeof data.configurations !== 'object' || !Array.isArray(data.inputs)) return null;
  const hostNames: Record<string, string | null> = {};
  for (const [name, info] of Object.entries(data.configurations as Record<string, { hostName?: unknown }>)) hostNames[name] = typeof info?.hostName === 'string' ? info.hostName : null;
  const inputs = (data.inputs as Record<string, unknown>[]).map((i) => ({
    name: String(i.name),
    reference: typeof i.reference === 'string' ? i.reference : String(i.type ?? ''),
    narHash: typeof i.narHash === 'string' ? i.narHash : null,
    storePath: typeof i.storePath === 'string' ? i.storePath : null,
  }));
  return { configuration: data.configuration, hostNames, inputs };
}

const DEVICE_PATH = /^\/[A-Za-z0-9/+._:@,=-]{1,4095}$/;


// A disko entry (manifest or evaluation) as the daemon may run it: store paths
// for the scripts, absolute paths for the mount point and devices; undefined
// when there is none, null when it is malformed.
export function diskoFacts(value: unknown): DiskoFacts | null | undefined {
  if (value === undefined || value === null) return undefined;
  const data = value as Partial<Record<keyof DiskoFacts, unknown>>;
  const { formatScript, mountScript, rootMountPoint, disks, drvPaths } = data;
  if (!isStorePath(formatScript) || !isStorePath(mountScript)) return null;
  if (typeof rootMountPoint !== 'string' || !DEVICE_PATH.test(rootMountPoint) || rootMountPoint.split('/').includes('..')) return null;
  if (!disks || typeof disks !== 'object' || Array.isArray(disks)) return null;
  const entries = Object.entries(disks as Record<string, unknown>);
  if (entries.length === 0 || entries.some(([name, device]) => name.length > 200 || typeof device !== 'string' || !DEVICE_PATH.test(device))) return null;
  if (drvPaths !== undefined && (!isStringList(drvPaths) || !drvPaths.every(isDerivationPath))) return null;
  return { formatScript, mountScript, rootMountPoint, disks: Object.fromEntries(entries) as Record<string, string>, ...(drvPaths !== undefined && { drvPaths }) };
}

// The manifest describes one folder (the ISO's nix-cfg); null when it does not describe this one.
export async function manifestFacts(manifest: string, source: string): Promise<(ConfigFacts & { manifestFlake?: ManifestFlake }) | null> {
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
  const flake = manifestFlake(data.flake);
  if (flake === null) throw new InstallError('manifest-invalid', 'The ISO manifest is not one this installer reads', `${manifest} has a "flake" entry without configuration, configurations and inputs. Rebuild the ISO with this installer's flake.`);
  const disko = diskoFacts(data.disko);
  if (disko === null) throw new InstallError('manifest-invalid', 'The ISO manifest is not one this installer reads', `${manifest} has a "disko" entry without store paths of its formatScript and mountScript, an absolute rootMountPoint and the disks' devices. Rebuild the ISO with this installer's flake.`);
  if (resolve(data.configDir) !== resolve(source)) return null;
  return {
    origin: 'manifest',
    users: data.users,
    desktops: data.desktops,
    drvPath: typeof data.drvPath === 'string' ? data.drvPath : null,
    toplevel: typeof data.toplevel === 'string' ? data.toplevel : null,
    ...(typeof data.closureBytes === 'number' && Number.isSafeInteger(data.closureBytes) && data.closureBytes >= 0 && { closureBytes: data.closureBytes }),
    ...(flake && { manifestFlake: flake }),
    ...(disko && { disko }),
    // The choices the shipped configuration decides itself (the launcher leaves their pages out).
    ...(isStringList(data.fixedSettings) && { fixedSettings: data.fixedSettings.filter((s): s is ChoiceSetting => CHOICE_SETTINGS.includes(s)) }),
    closureBytes: typeof data.closureBytes === 'number' && Number.isFinite(data.closureBytes) && data.closureBytes >= 0 ? data.closureBytes : null,
  };
}

type EvaluatedFacts = Omit<ConfigFacts, 'origin' | 'toplevel' | 'flake' | 'disko'> & { drvPath: string; disko?: unknown };

function evaluatedFacts(facts: EvaluatedFacts): ConfigFacts {
  const { users, desktops, drvPath, mutableUsers, usersWithoutPassword, bootLoader, settings: values, fixedSettings } = facts;
  const disko = diskoFacts(facts.disko);
  if (disko === null) throw new InstallError('config-eval-failed', 'The configuration\'s disko settings cannot be used', 'disko.devices.disk, disko.rootMountPoint or system.build.formatScript/mountScript evaluated to something other than devices, an absolute path and the scripts disko makes. Check the disko part of the configuration.');
  return { origin: 'evaluation', users, desktops, drvPath, toplevel: null, closureBytes: null, mutableUsers, usersWithoutPassword, bootLoader, settings: values, fixedSettings, disko: disko ?? null };
}

// nix/config-facts.nix applied to a flake's configuration: its text becomes
// the --apply function and desktops.json and choice-options.json go in as arguments, so the
// evaluation stays pure, exactly like the build's.
export async function evaluateFlakeFacts(ctx: CommandContext, ref: string, configuration: string, place: ConfigPlace): Promise<ConfigFacts> {
  const [factsNix, desktops, choiceOptions] = await Promise.all([readFile(FACTS_NIX, 'utf8'), readFile(DESKTOPS_JSON, 'utf8'), readFile(CHOICE_OPTIONS_JSON, 'utf8')]);
  const apply = `system: (${factsNix}\n) { evaluated = system; desktops = builtins.fromJSON ${nixString(desktops)}; choiceOptions = builtins.fromJSON ${nixString(choiceOptions)}; }`;
  const facts = await evaluateFlakeJson<EvaluatedFacts>(ctx, ref, configurationAttr(configuration), apply, (outcome) => {
    const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { ...place, evaluating: true });
    return new InstallError(problem.code, problem.title, problem.description);
  });
  return evaluatedFacts(facts);
}

// EVALUATE_IN is the folder Nix reads (the prepared copy); errors name SOURCE, the folder the person edits.
export async function evaluateFacts(ctx: CommandContext, source: string, settings: JobSettings, evaluateIn: string = source): Promise<ConfigFacts> {
  const [factsNix, nixosExpr] = [evalReadable(FACTS_NIX), evalReadable(settings.nixosExpr)];
  const facts = await evaluateJson<EvaluatedFacts>(
    ctx,
    factsNix,
    ['--argstr', 'nixos', nixosExpr, ...nixPathArgs(settings.nixpkgs, join(evaluateIn, 'configuration.nix')), ...restrictedEvalArgs([evaluateIn, dirname(factsNix), nixosExpr])],
    (outcome) => {
      const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { source, staged: evaluateIn, evaluating: true });
      return new InstallError(problem.code, problem.title, problem.description);
    },
  );
  return evaluatedFacts(facts);
}

// The manifest's facts when it describes this folder as shipped; otherwise the
// folder is evaluated: the prepared one, else the folder as WRITTEN gives it.
export async function configFacts(
  ctx: CommandContext,
  source: string,
  settings: JobSettings,
  prepared?: { folder: string; asShipped: boolean },
  written?: () => Promise<string>,
): Promise<ConfigFacts> {
  const fromManifest = settings.manifest && (prepared?.asShipped ?? true) ? await manifestFacts(settings.manifest, source) : null;
  return fromManifest ?? evaluateFacts(ctx, source, settings, prepared?.folder ?? (written ? await written() : source));
}
