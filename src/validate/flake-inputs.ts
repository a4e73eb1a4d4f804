// A flake installs offline only if Nix never has to fetch one of its inputs:
// every input flake.nix declares is in flake.lock, each is locked to a
// narHash, and each locked input is already in the live store (the ISO puts
// the inputs of its own nix-cfg there). Checked before anything is written,
// each refusal names the input, its reference and what to do.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeNixFailure } from '../nix/errors.js';
import { declaredFlakeInputs, invalidInLiveStore } from '../nix/flake-commands.js';
import { FlakeLockError, flakeReference, isInsideFlake, isLocked, lockedInputs, parseFlakeLock, rootInputs, sourceStorePath, type FlakeLock, type LockedInput } from '../nix/flake-lock.js';
import type { FlakeInput } from '../protocol/config-facts.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';

const REBUILD_HINT = 'On the machine that builds the ISO: run `nix flake lock` in nix-cfg/, commit flake.lock and rebuild the ISO, whose store then carries every locked input.';

async function readLock(dir: string, shownAs = dir): Promise<FlakeLock | null> {
  const file = join(dir, 'flake.lock');
  const shown = join(shownAs, 'flake.lock');
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (text === null) return null;
  try {
    return parseFlakeLock(text);
  } catch (error) {
    if (!(error instanceof FlakeLockError)) throw error;
    throw new InstallError('flake-lock-invalid', `${shown} cannot be read`, `${shown} is not a flake lock file this installer reads: ${error.message}. Put back the flake.lock that belongs to this flake. ${REBUILD_HINT}`);
  }
}

function describe(input: LockedInput): string {
  const narHash = typeof input.locked?.narHash === 'string' ? ` (narHash ${input.locked.narHash})` : '';
  return `${input.path}: ${flakeReference(input.locked ?? input.original)}${narHash}`;
}

// A flake.lock elsewhere (the ISO's own nix-cfg) that locks the same input to something in the store.
async function presentElsewhere(ctx: CommandContext, input: string, elsewhere: readonly string[]): Promise<{ lockFile: string; reference: string } | null> {
  for (const dir of elsewhere) {
    const lock = await readLock(dir).catch(() => null);
    const same = lock ? lockedInputs(lock).find((i) => i.path === input && isLocked(i)) : undefined;
    const path = same ? sourceStorePath(same.locked!.narHash as string) : null;
    if (same && path && (await invalidInLiveStore(ctx, [path])).size === 0) return { lockFile: join(dir, 'flake.lock'), reference: describe(same) };
  }
  return null;
}

// Checks DIR's flake inputs, naming it SHOWN_AS (the prepared copy is checked,
// the person knows the source folder); ELSEWHERE are other configuration
// folders whose flake.lock may show a version of an input that is on the ISO.
export async function checkFlakeInputs(ctx: CommandContext, dir: string, elsewhere: readonly string[] = [], shownAs = dir): Promise<FlakeInput[]> {
  const declared = await declaredFlakeInputs(ctx, dir, (outcome) => {
    const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { source: shownAs, staged: dir, evaluating: true });
    return new InstallError(problem.code, `${join(shownAs, 'flake.nix')} cannot be read`, problem.description);
  });
  const implicit = declared.formals.filter((name) => name !== 'self' && !declared.inputs.includes(name));
  const names = [...declared.inputs, ...implicit];
  const how = (name: string) => (implicit.includes(name) ? ' (an argument of outputs with no inputs entry: Nix would look it up in the flake registry)' : '');

  const lock = await readLock(dir, shownAs);
  if (lock === null) {
    if (names.length === 0) return [];
    throw new InstallError(
      'flake-lock-missing',
      `The flake in ${shownAs} has no flake.lock`,
      `Without flake.lock none of its inputs is locked, and Nix would fetch each of them:\n${names.map((n) => `  ${n}${how(n)}`).join('\n')}\n${REBUILD_HINT} Or copy the flake.lock that belongs to this flake into ${shownAs}.`,
    );
  }

  const locked = rootInputs(lock);
  const missing = names.filter((name) => (locked.get(name) ?? null) === null);
  if (missing.length > 0) {
    throw new InstallError(
      'flake-input-missing',
      `flake.lock does not lock ${missing.length === 1 ? `the input "${missing[0]}"` : `${missing.length} inputs`}`,
      `${join(shownAs, 'flake.nix')} declares ${missing.length === 1 ? 'an input' : 'inputs'} that ${join(shownAs, 'flake.lock')} does not lock, so Nix would fetch ${missing.length === 1 ? 'it' : 'them'}:\n${missing.map((n) => `  ${n}${how(n)}`).join('\n')}\n` +
        `Remove ${missing.length === 1 ? 'it' : 'them'} from flake.nix, or: ${REBUILD_HINT}`,
    );
  }

  const inputs = lockedInputs(lock).filter((input) => !isInsideFlake(input));
  const unlocked = inputs.filter((input) => !isLocked(input) || sourceStorePath(input.locked!.narHash as string) === null);
  if (unlocked.length > 0) {
    throw new InstallError(
      'flake-input-unlocked',
      `flake.lock leaves ${unlocked.length === 1 ? `the input "${unlocked[0]!.path}"` : `${unlocked.length} inputs`} unlocked`,
      `${join(shownAs, 'flake.lock')} records no content hash (a sha256 narHash) for:\n${unlocked.map((i) => `  ${describe(i)}${i.locked?.type === 'indirect' ? '' : ' (no narHash)'}`).join('\n')}\n` +
        `Nix can only take an input from the store by its narHash; without one it would fetch it. ${REBUILD_HINT}`,
    );
  }

  const found: FlakeInput[] = inputs.map((input) => ({ name: input.path, reference: flakeReference(input.locked), narHash: input.locked!.narHash as string, storePath: sourceStorePath(input.locked!.narHash as string) }));
  const invalid = await invalidInLiveStore(ctx, found.map((i) => i.storePath!));
  const absent = inputs.filter((_, index) => invalid.has(found[index]!.storePath!));
  if (absent.length > 0) {
    const lines: string[] = [];
    for (const input of absent) {
      lines.push(`  ${describe(input)}\n    not in the store (${sourceStorePath(input.locked!.narHash as string)})`);
      const other = await presentElsewhere(ctx, input.path, elsewhere);
      if (other) lines.push(`    ${other.lockFile} locks it to what the ISO has: ${other.reference}`);
    }
    throw new InstallError(
      'flake-input-absent',
      `${absent.length === 1 ? `The flake input "${absent[0]!.path}" is` : `${absent.length} flake inputs are`} not on the ISO`,
      `${join(shownAs, 'flake.lock')} locks ${absent.length === 1 ? 'an input' : 'inputs'} that the ISO's store does not hold, so Nix would have to download ${absent.length === 1 ? 'it' : 'them'}:\n${lines.join('\n')}\n` +
        'Put back the flake.lock that came with the ISO (or lock these inputs to the versions the ISO carries; an input\'s own nixpkgs can follow yours: inputs.<name>.inputs.nixpkgs.follows = "nixpkgs"). ' +
        REBUILD_HINT,
    );
  }
  return found;
}
