// Which of a flake's nixosConfigurations is installed: the one asked for
// (--flake-config NAME, the request's flakeConfig), else the only one, else
// the one whose networking.hostName is the hostname chosen in the installer.
// Anything else is ambiguous, and the refusal lists the names to choose from.
import type { NixFailureHandler } from '../nix/commands.js';
import { describeNixFailure, type ConfigPlace } from '../nix/errors.js';
import { evaluateFlakeJson } from '../nix/flake-commands.js';
import { FLAKE_CONFIG_NAME } from '../nix/flake-config-name.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';

export interface FlakeChoice {
  requested?: string;
  hostname?: string;
}

export type HostNames = Record<string, string | null>;

function listed(names: readonly string[], hostNames: HostNames | null): string {
  return names.map((n) => `  ${n}${hostNames ? ` (networking.hostName = ${hostNames[n] === null || hostNames[n] === undefined ? 'not set' : `"${hostNames[n]}"`})` : ''}`).join('\n');
}

function usable(name: string, source: string): string {
  if (FLAKE_CONFIG_NAME.test(name)) return name;
  throw new InstallError(
    'flake-config-name',
    `The configuration name "${name.slice(0, 64)}" cannot be installed`,
    `nixosConfigurations."${name.slice(0, 64)}" in ${source}/flake.nix has characters other than letters, digits, "_" and "-". Rename it (e.g. nixosConfigurations.${name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64)}), then start again.`,
  );
}

export async function chooseConfiguration(source: string, names: readonly string[], choice: FlakeChoice, hostNames: () => Promise<HostNames>): Promise<string> {
  if (names.length === 0) {
    throw new InstallError('flake-no-configurations', 'The flake has no NixOS configuration', `${source}/flake.nix has no nixosConfigurations output. Add one, e.g. outputs = { self, nixpkgs }: { nixosConfigurations.my-host = nixpkgs.lib.nixosSystem { ... }; }.`);
  }
  if (choice.requested !== undefined) {
    if (names.includes(choice.requested)) return usable(choice.requested, source);
    throw new InstallError(
      'flake-config-unknown',
      `The flake has no configuration "${choice.requested}"`,
      `${source}/flake.nix has these nixosConfigurations:\n${listed(names, null)}\nChoose one of them (--flake-config NAME).`,
    );
  }
  if (names.length === 1) return usable(names[0]!, source);
  let known: HostNames | null = null;
  if (choice.hostname !== undefined) {
    known = await hostNames();
    const matching = names.filter((n) => known![n] === choice.hostname);
    if (matching.length === 1) return usable(matching[0]!, source);
  }
  const byHost =
    choice.hostname === undefined
      ? 'No hostname was chosen to match against their networking.hostName.'
      : `${names.filter((n) => known![n] === choice.hostname).length === 0 ? 'None' : 'More than one'} of them has networking.hostName = "${choice.hostname}", the hostname chosen in the installer.`;
  throw new InstallError(
    'flake-config-ambiguous',
    `The flake has ${names.length} configurations; which one to install?`,
    `${source}/flake.nix has these nixosConfigurations:\n${listed(names, known)}\n${byHost}\n` +
      "Choose one: in the installer, set the computer's name to that configuration's networking.hostName; on the command line, add --flake-config NAME.",
  );
}

const NAMES = 'configurations: builtins.attrNames configurations';
// A configuration whose hostName cannot be evaluated (e.g. one for another machine) simply matches nothing.
const HOST_NAMES = 'configurations: builtins.mapAttrs (name: c: let h = builtins.tryEval (c.config.networking.hostName or null); in if h.success && builtins.isString h.value then h.value else null) configurations';

export function evalFailure(place: ConfigPlace): NixFailureHandler {
  return (outcome) => {
    const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { ...place, evaluating: true });
    return new InstallError(problem.code, problem.title, problem.description);
  };
}

export function flakeConfigurations(ctx: CommandContext, ref: string, place: ConfigPlace): Promise<string[]> {
  return evaluateFlakeJson<string[]>(ctx, ref, 'nixosConfigurations', NAMES, evalFailure(place));
}

export function flakeHostNames(ctx: CommandContext, ref: string, place: ConfigPlace): Promise<HostNames> {
  return evaluateFlakeJson<HostNames>(ctx, ref, 'nixosConfigurations', HOST_NAMES, evalFailure(place));
}
