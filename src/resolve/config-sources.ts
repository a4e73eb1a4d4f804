// Which configuration folder an install uses: the first of the configured
// folders (default /tmp/nix-cfg, then /iso/nix-cfg) that holds a configuration.nix
// or a flake.nix.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigSourceStatus } from '../protocol/messages.js';
import { InstallError } from '../step/install-error.js';

export const DEFAULT_CONFIG_DIRS = ['/tmp/nix-cfg', '/iso/nix-cfg'] as const;

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

export function describeSources(dirs: readonly string[]): ConfigSourceStatus[] {
  return dirs.map((dir) => {
    const exists = isDirectory(dir);
    return { dir, exists, hasConfiguration: exists && (isFile(join(dir, 'configuration.nix')) || isFile(join(dir, 'flake.nix'))) };
  });
}

export function activeSource(sources: readonly ConfigSourceStatus[]): string | null {
  return sources.find((source) => source.hasConfiguration)?.dir ?? null;
}

// The folder to install from, or an error that says what each candidate lacks.
export function resolveSource(dirs: readonly string[]): string {
  const sources = describeSources(dirs);
  const active = activeSource(sources);
  if (active !== null) return active;
  const found = sources.map((s) => `  ${s.dir}: ${s.exists ? 'exists but has no configuration.nix or flake.nix' : 'does not exist'}`).join('\n');
  const withoutConfig = sources.find((s) => s.exists);
  throw new InstallError(
    withoutConfig ? 'config-incomplete' : 'config-missing',
    withoutConfig ? `No configuration.nix in ${withoutConfig.dir}` : 'No NixOS configuration found',
    `The installer looks for a folder with a configuration.nix in this order:\n${found}\n` +
      `Copy your configuration folder (with configuration.nix at its top) to ${dirs[0] ?? '/tmp/nix-cfg'}, ` +
      'or rebuild the ISO with your configuration in nix-cfg/, then start the install again.',
  );
}
