// A fleet's seed as a Nix store over Nix's own ssh-ng protocol: the seed runs
// OpenSSH's sshd (src/fleet/sshd.ts) whose one key may only run
// `nix-daemon --stdio`; a target copies its system from there with
// `nix copy --from ssh-ng://root@<seed>`. The port, key and host key reach
// ssh through NIX_SSHOPTS (Nix 2.8 takes no port in the store URL), which Nix
// splits at spaces: the files' paths must have none.
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { copyToTarget, type CopyEvents } from './copy-command.js';

export interface SeedStore {
  host: string;
  port: number;
  // The fleet's client key (private, the target's file) and a known_hosts file holding the seed's host key.
  keyFile: string;
  knownHostsFile: string;
}

// The user sshd logs in; its key is bound to `nix-daemon --stdio` run as an unprivileged user (fleet/sshd.ts).
export const SEED_STORE_USER = 'root';

export function seedStoreUrl(seed: SeedStore): string {
  return `ssh-ng://${SEED_STORE_USER}@${seed.host}`;
}

export function seedSshOptions(seed: SeedStore): string {
  const files = [seed.keyFile, seed.knownHostsFile];
  if (files.some((f) => /\s/.test(f))) throw new InstallError('internal-error', 'A path for ssh has a space in it', `${files.join(', ')}: NIX_SSHOPTS is split at spaces.`);
  // BatchMode: never a password prompt; the host key must be the seed's, said by the seed with the go.
  return ['-p', String(seed.port), '-i', seed.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${seed.knownHostsFile}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes'].join(' ');
}

// The known_hosts line for the seed's host key ("ssh-ed25519 AAAA...").
export function knownHostsLine(seed: Pick<SeedStore, 'host' | 'port'>, hostKey: string): string {
  return `[${seed.host}]:${seed.port} ${hostKey.trim()}\n`;
}

// PATHS' closures from the seed into the store under ROOT, as the copy stage copies from the live store.
export function copyFromSeed(ctx: CommandContext, seed: SeedStore, root: string, paths: readonly string[], on: CopyEvents): Promise<void> {
  return copyToTarget(
    ctx,
    root,
    paths,
    on,
    (outcome, tail) =>
      new InstallError('seed-copy-failed', `The system could not be copied from the seed ${seed.host}`, `nix copy --from ${seedStoreUrl(seed)} exited with ${outcome.result.exitCode}:\n${tail}\nCheck that fleet serve still runs on the seed and that this machine reaches ${seed.host} port ${seed.port}; then network-boot it again.`),
    { store: seedStoreUrl(seed), env: { NIX_SSHOPTS: seedSshOptions(seed) } },
  );
}
