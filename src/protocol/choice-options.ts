// Each setting an installer choice sets, the choice (request field) it comes
// from, what Calamares' pages call it and its NixOS options (the one written
// first, older names after it). One table, nix/choice-options.json, serves this
// code and nix/config-facts.nix.
import type { ChoiceKey } from './vocabularies.js';
import { readNixTable } from './nix-table.js';

export interface ChoiceOptionRow {
  choice: ChoiceKey;
  label: string;
  options: string[];
}

const table = readNixTable<Record<string, ChoiceOptionRow>>('choice-options.json', (data) => {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return 'not an object of settings';
  const bad = Object.entries(data).find(([, row]) => typeof row?.choice !== 'string' || typeof row.label !== 'string' || !Array.isArray(row.options) || row.options.length === 0 || !row.options.every((o) => typeof o === 'string'));
  return bad === undefined ? null : `setting "${bad[0]}" needs a choice, a label and a list of options`;
});

export const CHOICE_OPTIONS: Readonly<Record<string, ChoiceOptionRow>> = table;

// The settings the installer's choices set (config-facts.nix reports their final values and which are fixed).
export const CHOICE_SETTINGS: readonly string[] = Object.keys(table);
