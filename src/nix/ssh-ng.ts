// A fleet's seed as a Nix store over Nix's own ssh-ng protocol: the seed runs
// OpenSSH's sshd (src/fleet/sshd.ts) whose one key may only run
// `nix-daemon --stdio`; a target copies its system from there with
// `nix copy --from ssh-ng://root@<seed>`. The port, key and host key reach
// ssh through NIX_SSHOPTS (Nix 2.8 takes no port in the store URL), which Nix
// splits at spaces: the files' paths must have none.
import { existsSync } from 'node:fs';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { runChild } from '../process/run-child.js';
import { copyToTarget, type CopyEvents } from './copy-command.js';

export interface SeedStore {
  host: string;
  port: number;
  // The fleet's client key (private, the target's file) and a known_hosts file holding the seed's host key.
  keyFile: string;
  knownHostsFile: string;
  // Where the copy's one SSH connection to the seed listens for the sessions Nix opens (a socket, made by ssh).
  controlPath: string;
}

// How long the shared connection may take to log in before the copy goes on without it.
const CONNECTION_WAIT_MS = 15_000;

// The user sshd logs in; its key is bound to `nix-daemon --stdio` run as an unprivileged user (fleet/sshd.ts).
export const SEED_STORE_USER = 'root';

export function seedStoreUrl(seed: SeedStore): string {
  return `ssh-ng://${SEED_STORE_USER}@${seed.host}`;
}

function sshOptions(seed: SeedStore): string[] {
  const files = [seed.keyFile, seed.knownHostsFile, seed.controlPath];
  if (files.some((f) => /\s/.test(f))) throw new InstallError('internal-error', 'A path for ssh has a space in it', `${files.join(', ')}: NIX_SSHOPTS is split at spaces.`);
  // BatchMode: never a password prompt; the host key must be the seed's, said by the seed with the go.
  return ['-p', String(seed.port), '-i', seed.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${seed.knownHostsFile}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `ControlPath=${seed.controlPath}`];
}

// Nix's ssh: a session on the shared connection when it is up; without it (ControlMaster=no), a connection of its own.
export function seedSshOptions(seed: SeedStore): string {
  return [...sshOptions(seed), '-o', 'ControlMaster=no'].join(' ');
}

// The known_hosts line for the seed's host key ("ssh-ed25519 AAAA...").
export function knownHostsLine(seed: Pick<SeedStore, 'host' | 'port'>, hostKey: string): string {
  return `[${seed.host}]:${seed.port} ${hostKey.trim()}\n`;
}

// PATHS' closures from the seed into the store under ROOT, as the copy stage copies from the live store.
export async function copyFromSeed(ctx: CommandContext, seed: SeedStore, root: string, paths: readonly string[], on: CopyEvents): Promise<void> {
  const connection = await openSeedConnection(ctx, seed);
  try {
    await copyToTarget(
      ctx,
      root,
      paths,
      on,
      (outcome, tail) =>
        new InstallError('seed-copy-failed', `The system could not be copied from the seed ${seed.host}`, `nix copy --from ${seedStoreUrl(seed)} exited with ${outcome.result.exitCode}:\n${tail}\nCheck that fleet serve still runs on the seed and that this machine reaches ${seed.host} port ${seed.port}; then network-boot it again.`),
      { store: seedStoreUrl(seed), env: { NIX_SSHOPTS: seedSshOptions(seed) } },
    );
  } finally {
    await connection.close();
  }
}

// One SSH connection to the seed (ssh -M -N: logged in, running nothing) for the whole copy. Nix 2.26 opens a new
// ssh-ng connection for each path it copies (seen here: a login per path; Nix 2.34 keeps one), and each cost the
// seed a key exchange and a login (sshd-session and sshd-auth started anew): most of its CPU (README, "Fleet").
// Nix's sessions run on this one instead. If it does not come up, Nix's ssh connects by itself and says why not.
async function openSeedConnection(ctx: CommandContext, seed: SeedStore): Promise<{ close(): Promise<void> }> {
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let exited = false;
  const master = runChild({
    file: 'ssh',
    args: [...sshOptions(seed), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '-N', '--', `${SEED_STORE_USER}@${seed.host}`],
    signal,
    onLine: (line) => ctx.output('ssh', line),
  }).finally(() => (exited = true));
  const deadline = Date.now() + CONNECTION_WAIT_MS;
  while (!exited && !signal.aborted && !existsSync(seed.controlPath) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  ctx.log('daemon', existsSync(seed.controlPath) ? `one SSH connection to the seed ${seed.host} carries the copy` : `no shared SSH connection to the seed ${seed.host}; nix copy connects by itself`);
  return {
    async close() {
      stop.abort();
      await master;
    },
  };
}
