// What a value the configuration computed must be before it reaches a Nix
// command line as root: a plain path in /nix/store (a derivation where one is
// expected). Nix's legacy commands read "--version" after `--` as an option,
// so `--` alone does not keep such a value an operand.
import { InstallError } from '../common/install-error.js';

const STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+._?=-]+(\/[A-Za-z0-9+._?=-]+)*$/;

export function isStorePath(path: unknown): path is string {
  return typeof path === 'string' && STORE_PATH.test(path) && !path.split('/').some((part) => part === '..' || part === '.');
}

export function isDerivationPath(path: unknown): path is string {
  return isStorePath(path) && !path.includes('/', '/nix/store/'.length) && path.endsWith('.drv');
}

// PATHS as they go to a command: each a store path (a derivation's if DERIVATIONS), or a clear error naming it.
export function checkedStorePaths(paths: readonly unknown[], what: string, derivations = false): string[] {
  for (const path of paths) {
    if (derivations ? !isDerivationPath(path) : !isStorePath(path)) {
      throw new InstallError(
        'not-a-store-path',
        derivations ? 'The configuration computed something that is not a derivation' : 'The configuration computed something that is not a store path',
        `${what} is ${JSON.stringify(String(path)).slice(0, 300)}, not ${derivations ? 'a derivation in /nix/store (a path ending in .drv)' : 'a path in /nix/store'}. Nothing was run with it. Check the configuration (e.g. an overridden system.build.toplevel or drvPath).`,
      );
    }
  }
  return [...(paths as string[])];
}
