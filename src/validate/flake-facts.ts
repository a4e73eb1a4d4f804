// The checks' facts for a flake configuration folder: its inputs checked
// (flake-inputs.ts), the configuration to install chosen
// (flake-configuration.ts), then the same facts as for a classic folder, from
// the ISO manifest when it describes that configuration, else by evaluating it
// through the flake.
import type { ConfigPlace } from '../nix/errors.js';
import { folderFlakeRef, flakeStoreCopy } from '../nix/flake-commands.js';
import type { ConfigFacts, FlakeFacts } from '../protocol/messages.js';
import type { CommandContext, JobSettings } from '../step/context.js';
import { evaluateFlakeFacts, manifestFacts, type ManifestFlake } from './config-facts.js';
import { chooseConfiguration, evalFailure, flakeConfigurations, flakeHostNames, type FlakeChoice } from './flake-configuration.js';
import { checkFlakeInputs } from './flake-inputs.js';

export interface PreparedFlake {
  ref: string;
  flake: FlakeFacts;
  // The manifest's facts when they describe the chosen configuration.
  manifest: ConfigFacts | null;
  // Where error positions point (the flake's copy in the store), found on first need.
  place(): Promise<ConfigPlace>;
}

export async function prepareFlake(ctx: CommandContext, source: string, settings: JobSettings, choice: FlakeChoice, cached?: FlakeFacts): Promise<PreparedFlake> {
  const inputs = await checkFlakeInputs(ctx, source, settings.configDirs.filter((dir) => dir !== source));
  const ref = await folderFlakeRef(ctx, source);
  let place: Promise<ConfigPlace> | null = null;
  const placeOf = () =>
    (place ??= flakeStoreCopy(ctx, ref, evalFailure({ source })).then((copy) => ({ source, ...(copy !== null && { staged: copy }) })));
  if (cached) return { ref, flake: { ...cached, inputs }, manifest: null, place: placeOf };

  const fromManifest = settings.manifest ? await manifestFacts(settings.manifest, source) : null;
  const shipped: ManifestFlake | null = fromManifest?.manifestFlake ?? null;
  const configurations = shipped ? Object.keys(shipped.hostNames) : await flakeConfigurations(ctx, ref, await placeOf());
  const configuration = await chooseConfiguration(source, configurations, choice, async () => shipped?.hostNames ?? flakeHostNames(ctx, ref, await placeOf()));
  let manifest: ConfigFacts | null = null;
  if (fromManifest && shipped?.configuration === configuration) {
    const { manifestFlake: _, ...facts } = fromManifest;
    manifest = facts;
  }
  return { ref, flake: { configuration, configurations, inputs }, manifest, place: placeOf };
}

export async function flakeFacts(ctx: CommandContext, prepared: PreparedFlake): Promise<ConfigFacts> {
  const facts = prepared.manifest ?? (await evaluateFlakeFacts(ctx, prepared.ref, prepared.flake.configuration, await prepared.place()));
  return { ...facts, flake: prepared.flake };
}
