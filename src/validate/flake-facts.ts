// The checks' facts for a flake configuration folder: its inputs checked
// (flake-inputs.ts), the configuration to install chosen
// (flake-configuration.ts) from the folder as its author wrote it, then the
// same facts as for a classic folder, from the ISO manifest when it describes
// that configuration as shipped, else by evaluating it through the flake in
// the prepared folder (this machine's hardware configuration and the
// installer's choices), which is what will be built.
import type { ConfigPlace } from '../nix/errors.js';
import { folderFlakeRef, flakeStoreCopy } from '../nix/flake-commands.js';
import type { ConfigFacts, FlakeFacts } from '../protocol/config-facts.js';
import type { CommandContext, JobSettings } from '../common/context.js';
import { evaluateFlakeFacts, manifestFacts, type ManifestFlake } from './config-facts.js';
import { chooseConfiguration, evalFailure, flakeConfigurations, flakeHostNames, type FlakeChoice } from './flake-configuration.js';
import { checkFlakeInputs } from './flake-inputs.js';

export interface PreparedFlake {
  flake: FlakeFacts;
  // The manifest's facts when they describe the chosen configuration as shipped.
  manifest: ConfigFacts | null;
  // The folder evaluated for the facts (the prepared copy, else the source).
  evaluateIn: string;
  source: string;
}

// Nix reads DIR through its copy in the store: error positions point there, and name SOURCE for the person.
async function flakeAt(ctx: CommandContext, dir: string, source: string): Promise<{ ref: string; place: ConfigPlace }> {
  const ref = await folderFlakeRef(ctx, dir);
  const copy = await flakeStoreCopy(ctx, ref, evalFailure({ source }));
  return { ref, place: { source, ...(copy !== null && { staged: copy }) } };
}

export async function prepareFlake(
  ctx: CommandContext,
  source: string,
  settings: JobSettings,
  choice: FlakeChoice,
  prepared?: { folder: string; asShipped: boolean },
  cached?: FlakeFacts,
  // The folder as its author wrote it, where it may be evaluated (a private copy with an eval user).
  written: () => Promise<string> = async () => source,
): Promise<PreparedFlake> {
  const evaluateIn = prepared?.folder ?? source;
  // The prepared copy's inputs (what will be installed), named as the source's.
  const inputs = await checkFlakeInputs(ctx, evaluateIn, settings.configDirs.filter((dir) => dir !== source), source);
  if (cached) return { flake: { ...cached, inputs }, manifest: null, evaluateIn, source };

  const fromManifest = settings.manifest ? await manifestFacts(settings.manifest, source) : null;
  const shipped: ManifestFlake | null = fromManifest?.manifestFlake ?? null;
  // Names and host names as the author wrote them (the installer's choices set hostName only as a default).
  let writtenFlake: Promise<{ ref: string; place: ConfigPlace }> | null = null;
  const asWritten = () => (writtenFlake ??= written().then((dir) => flakeAt(ctx, dir, source)));
  const configurations = shipped ? Object.keys(shipped.hostNames) : await flakeConfigurations(ctx, (await asWritten()).ref, (await asWritten()).place);
  const configuration = await chooseConfiguration(source, configurations, choice, async () => shipped?.hostNames ?? flakeHostNames(ctx, (await asWritten()).ref, (await asWritten()).place));
  let manifest: ConfigFacts | null = null;
  if (fromManifest && shipped?.configuration === configuration && (prepared?.asShipped ?? true)) {
    const { manifestFlake: _, ...facts } = fromManifest;
    manifest = facts;
  }
  return { flake: { configuration, configurations, inputs }, manifest, evaluateIn, source };
}

export async function flakeFacts(ctx: CommandContext, prepared: PreparedFlake): Promise<ConfigFacts> {
  let facts = prepared.manifest;
  if (facts === null) {
    const { ref, place } = await flakeAt(ctx, prepared.evaluateIn, prepared.source);
    facts = await evaluateFlakeFacts(ctx, ref, prepared.flake.configuration, place);
  }
  return { ...facts, flake: prepared.flake };
}
