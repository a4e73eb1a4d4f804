// Settings every Nix command gets, so that nothing reaches for the network:
// no substituters, and no global flake registry (nixpkgs 24.11's ISO failed
// offline resolving it). `nix` subcommands also need nix-command enabled.
export const OFFLINE_NIX_OPTIONS: readonly string[] = ['--option', 'substituters', '', '--option', 'flake-registry', ''];

// `--offline` (every Nix from 2.3 on): the `nix` command checks for a network
// itself and, finding none (as on the ISO), warns "you don't have Internet
// access" in every run; told it is offline, it does not look.
export const NIX_COMMAND_OPTIONS: readonly string[] = ['--extra-experimental-features', 'nix-command', '--offline', ...OFFLINE_NIX_OPTIONS];

// What a command on a flake adds (every one exists from Nix 2.8 on): flakes
// enabled; `--offline`; flake.lock used as it is, never updated or written
// (an input missing from it would otherwise be fetched to lock it); no
// evaluation cache kept between runs.
export const FLAKE_OPTIONS: readonly string[] = [
  '--extra-experimental-features',
  'nix-command flakes',
  '--offline',
  '--no-update-lock-file',
  '--no-write-lock-file',
  '--no-eval-cache',
  ...OFFLINE_NIX_OPTIONS,
];

// The structured log every Nix command this installer runs is read through (Nix 2.8 has it).
export const LOG_FORMAT_OPTIONS: readonly string[] = ['--log-format', 'internal-json'];

// Where `<nixpkgs>` and `<nixos-config>` point: the ISO's own nixpkgs first, so
// nothing depends on NIX_PATH or a channel, and the configuration to evaluate.
export function nixPathArgs(nixpkgs: string | null, configuration: string): string[] {
  return [...(nixpkgs ? ['-I', `nixpkgs=${nixpkgs}`] : []), '-I', `nixos-config=${configuration}`];
}

// Evaluation as root may read only what a configuration needs: the search
// path's entries (nixpkgs, the configuration) and ALLOWED (its folder, the
// NixOS expression, this product's Nix files). Any other path, /etc/shadow
// included, is refused by Nix itself, after resolving links. Each allowed
// folder is a search-path entry under a name no configuration looks up.
export function restrictedEvalArgs(allowed: readonly (string | null)[]): string[] {
  const paths = allowed.filter((p): p is string => p !== null && !/^<.*>$/.test(p));
  return ['--option', 'restrict-eval', 'true', ...paths.flatMap((path, i) => ['-I', `nixos-offline-installer-allowed-${i}=${path}`])];
}

// The target's store as a store URI. A bare path would be read as a URI, so a
// `?` or `&` in it could set other store settings (the real root among them):
// the root goes in as one percent-encoded parameter.
export function targetStore(root: string): string {
  return `local?root=${encodeURIComponent(root)}`;
}

// Every command that evaluates a configuration: no import from derivation, so
// evaluating never builds (a dropped configuration's builder would otherwise
// run at every live check, and its output could reach a reply).
export const NO_IMPORT_FROM_DERIVATION: readonly string[] = ['--option', 'allow-import-from-derivation', 'false'];
