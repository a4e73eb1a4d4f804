// The Calamares job module's own fast tests (Python's unittest, with a tiny
// fake libcalamares); the real Calamares runs it in test/e2e/calamares.test.ts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/env.js';

it('the Python unit tests of calamares/modules/nixos-offline pass', () => {
  const run = spawnSync('python3', ['-W', 'error::ResourceWarning', '-m', 'unittest', 'discover', '-s', join(REPO, 'calamares/tests'), '-v'], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/Ran \d+ tests/);
  expect(run.stderr).toContain('\nOK');
});
