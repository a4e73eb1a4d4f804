// The error for a copy that read damaged data from the installer's medium
// (src/nix/errors.ts' mediumDamage): which store path, what reached the target
// by then, and what to do. Never advice about free space: the target is not
// what failed.
import type { MediumDamage } from '../nix/errors.js';
import type { CopyCounts } from '../common/context.js';
import { InstallError } from '../common/install-error.js';

export const MEDIUM_DAMAGED_TITLE = "The installer's medium is damaged";

export interface CopyState {
  root: string;
  counts: CopyCounts;
  // Paths Nix started and did not complete (the damaged one among them when Nix did not name it).
  inFlight: readonly string[];
}

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

export function mediumDamagedError(damage: MediumDamage, state: CopyState): InstallError {
  const which = damage.storePath
    ? `${damage.storePath}${damage.file ? ` (file ${damage.file})` : ''}`
    : state.inFlight.length === 1
      ? state.inFlight[0]!
      : `one of ${state.inFlight.join(', ') || 'the paths being copied'}`;
  const { pathsDone, pathsTotal, bytesDone, bytesTotal } = state.counts;
  return new InstallError(
    'medium-damaged',
    MEDIUM_DAMAGED_TITLE,
    [
      `The USB stick or DVD the installer runs from did not read back what was written to it: ${which} in the live system's store.`,
      `Nix said:\n${damage.said.split('\n').map((l) => `  ${l}`).join('\n')}`,
      `The install stopped there. Written to the target ${state.root} by then: ${pathsDone} of ${pathsTotal} store paths (${mb(bytesDone)} of ${mb(bytesTotal)}) in ${state.root}/nix/store, and the configuration in ${state.root}/etc/nixos; no system profile and no boot loader were installed, so the target does not boot yet. Installing again over it is safe.`,
      "What to do: write the ISO to the stick again (or to another stick) and compare the stick with the ISO's checksum before booting it (sha256sum of the ISO against its published .sha256). To list every damaged path on this medium, run \"sudo nixos-offline-installer check-medium\".",
    ].join('\n'),
  );
}
