// The Calamares job module's own fast tests (Python's unittest, with a tiny
// fake libcalamares); the real Calamares runs it in test/e2e/calamares.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ATTENDED } from '../../src/job/attended-stages.js';
import { phaseRow } from '../../src/protocol/install-phases.js';
import { checkInstance, moduleSteps, stepInstances } from '../helpers/calamares.js';
import { REPO } from '../helpers/env.js';

it('the Python unit tests of calamares/modules/nixos-offline pass', () => {
  const run = spawnSync('python3', ['-B', '-W', 'error::ResourceWarning', '-m', 'unittest', 'discover', '-s', join(REPO, 'calamares/tests'), '-v'], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/Ran \d+ tests/);
  expect(run.stderr).toContain('\nOK');
});

it("settings.conf runs the table's steps in order, each weighted by its phases' share, and the steps cover an attended install's phases", () => {
  const steps = moduleSteps();
  // Calamares installs into the target it mounted: every phase of that install in exactly one step, in order.
  expect(Object.values(steps).flatMap((s) => s.phases)).toEqual(ATTENDED.stages.map((s) => s.phase));

  // settings.conf: one instance per step, in the sequence in order, weighted by its phases' share (nix/install-phases.json).
  const instances = stepInstances();
  expect(instances.map((i) => i.id)).toEqual(Object.keys(steps));
  for (const { id, config, weight } of instances) {
    const share = steps[id]!.phases.reduce((sum, phase) => sum + phaseRow(phase).weight, 0);
    expect(weight, `settings.conf's weight of ${id}: its phases' share of nix/install-phases.json in percent`).toBe(Math.round(share * 100));
    expect(readFileSync(join(REPO, 'calamares/config/modules', config), 'utf8')).toMatch(new RegExp(`^step: ${id}$`, 'm'));
  }
  const settings = readFileSync(join(REPO, 'calamares/config/settings.conf'), 'utf8');
  // The install's exec block is the one with Calamares' partition job; the check has one of its own before it, after the summary.
  const blocks = [...settings.matchAll(/^- (show|exec):\n((?: {2}.*\n)+)/gm)].map((m) => ({ kind: m[1], items: [...m[2]!.matchAll(/^ {2}- (\S+)$/gm)].map((i) => i[1]) }));
  const install = blocks.findIndex((b) => b.kind === 'exec' && b.items.includes('partition'));
  expect(blocks[install]!.items.filter((i) => i!.startsWith('nixos-offline'))).toEqual(instances.map((i) => `nixos-offline@${i.id}`));
  expect(blocks.slice(install - 3, install)).toEqual([
    { kind: 'show', items: expect.arrayContaining(['users', 'packagechooser', 'partition', 'summary']) },
    { kind: 'exec', items: [`nixos-offline@${checkInstance().id}`] },
    { kind: 'show', items: ['notesqml@choices'] },
  ]);
  expect(blocks[install - 3]!.items.at(-1)).toBe('summary');
  expect(readFileSync(join(REPO, 'calamares/config/modules', checkInstance().config), 'utf8')).toMatch(/^step: check$/m);
});
