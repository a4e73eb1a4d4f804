// The tests and benches are type-checked with the code (tsconfig.test.json): vitest only
// strips types, so a test calling a changed function the old way would still
// run, and could pass while checking nothing.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/env.js';

describe('the tests', () => {
  it('type-check with the code they test', () => {
    let output = '';
    try {
      execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.test.json')], { cwd: REPO, encoding: 'utf8' });
    } catch (error) {
      output = (error as { stdout?: string }).stdout ?? String(error);
    }
    expect(output).toBe('');
  }, 180_000);
});
