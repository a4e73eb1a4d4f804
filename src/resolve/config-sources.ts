// Which configuration folder an install uses: the first of the configured
// folders (default /tmp/nix-cfg, then /iso/nix-cfg) that holds a configuration.nix
// and that only root or the live user can have put there.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigSourceStatus } from '../protocol/messages.js';
import { InstallError } from '../step/install-error.js';
import { untrustedReason } from './trusted-source.js';

export const DEFAULT_CONFIG_DIRS = ['/tmp/nix-cfg', '/iso/nix-cfg'] as const;

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

// SOCKET_GID: the group allowed to use the daemon, whose members' folders count (see trusted-source.ts).
export function describeSources(dirs: readonly string[], socketGid = 0): ConfigSourceStatus[] {
  return dirs.map((dir) => {
    const refused = untrustedReason(dir, socketGid);
    if (refused !== null) return { dir, exists: true, hasConfiguration: false, refused };
    const exists = isDirectory(dir);
    return { dir, exists, hasConfiguration: exists && isFile(join(dir, 'configuration.nix')) };
  });
}

// The first folder with a configuration.nix; none when a refused folder comes
// before it (it was meant to be used: never fall back silently past it).
export function activeSource(sources: readonly ConfigSourceStatus[]): string | null {
  for (const source of sources) {
    if (source.refused) return null;
    if (source.hasConfiguration) return source.dir;
  }
  return null;
}

// The folder to install from, or an error that says what each candidate lacks.
export function resolveSource(dirs: readonly string[], socketGid = 0): string {
  const sources = describeSources(dirs, socketGid);
  const active = activeSource(sources);
  if (active !== null) return active;
  const refused = sources.find((s) => s.refused);
  const found = sources.map((s) => `  ${s.dir}: ${s.refused ? `not used: it ${s.refused}` : s.exists ? 'exists but has no configuration.nix' : 'does not exist'}`).join('\n');
  if (refused) {
    throw new InstallError('config-untrusted', `${refused.dir} is not used: it ${refused.refused!.split(';')[0]}`, `The installer looks for a folder with a configuration.nix in this order:\n${found}\nRoot evaluates and installs what it finds there, so a folder is used only when root or the live user made it and nobody else can change it.`);
  }
  const withoutConfig = sources.find((s) => s.exists);
  throw new InstallError(
    withoutConfig ? 'config-incomplete' : 'config-missing',
    withoutConfig ? `No configuration.nix in ${withoutConfig.dir}` : 'No NixOS configuration found',
    `The installer looks for a folder with a configuration.nix in this order:\n${found}\n` +
      `Copy your configuration folder (with configuration.nix at its top) to ${dirs[0] ?? '/tmp/nix-cfg'}, ` +
      'or rebuild the ISO with your configuration in nix-cfg/, then start the install again.',
  );
}
