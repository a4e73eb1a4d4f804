// The shared tables of nix/ as the daemon reads them: a name not in a table,
// or a table that cannot be read, stops it at once, naming the file.
import { expect, it } from 'vitest';
import { defineStage } from '../../src/job/stage.js';
import { readNixTable } from '../../src/protocol/nix-table.js';

it('refuses a stage of a phase nix/install-phases.json does not have, naming the phases it has', () => {
  expect(() => defineStage('kopy', async () => {})).toThrow(/phase "kopy" is not in nix\/install-phases\.json \(hardware, validate, .*report\)/);
  expect(defineStage('copy', async () => {})).toMatchObject({ phase: 'copy', title: 'Copying the system to the target', weight: 0.78 });
});

it('names a table that cannot be read, and one whose rows are wrong', () => {
  expect(() => readNixTable('no-such-table.json', () => null)).toThrow(/nix\/no-such-table\.json cannot be read as JSON .*reinstall the package/);
  expect(() => readNixTable('install-phases.json', () => 'phase "x" needs a title')).toThrow(/nix\/install-phases\.json: phase "x" needs a title; reinstall the package/);
});
