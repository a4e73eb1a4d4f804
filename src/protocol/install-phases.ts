// The phases of an install: name, the title people read, the share of the
// progress bar. One table, nix/install-phases.json, serves the daemon and the
// Calamares module (which also finds there how its steps group the phases).
import { readNixTable } from './nix-table.js';

export interface PhaseRow {
  name: string;
  title: string;
  weight: number;
  // Only an unattended install has it (the disk phases).
  unattendedOnly?: boolean;
}

const table = readNixTable<{ phases: PhaseRow[] }>('install-phases.json', (data) => {
  if (!Array.isArray(data?.phases) || data.phases.length === 0) return 'no "phases" list';
  const bad = data.phases.find((p) => typeof p?.name !== 'string' || typeof p.title !== 'string' || typeof p.weight !== 'number' || !(p.weight > 0));
  return bad === undefined ? null : `phase ${JSON.stringify(bad)} needs a name, a title and a weight above 0`;
});

// In the order of an unattended install (src/job/unattended-stages.ts); an
// install into a mounted target has all but the unattended-only ones.
export const PHASES: readonly string[] = table.phases.map((p) => p.name);

export function phaseRow(phase: string): PhaseRow {
  const row = table.phases.find((p) => p.name === phase);
  if (row === undefined) throw new Error(`phase "${phase}" is not in nix/install-phases.json (${PHASES.join(', ')})`);
  return row;
}

export function phaseTitle(phase: string): string {
  return phaseRow(phase).title;
}
