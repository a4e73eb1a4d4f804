// No source file grows past what a person reads in one sitting: a longer one
// does more than one thing, and is split by concern (issue 29).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/env.js';

const MAX_LINES = 300;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

it(`has no file in src/ over ${MAX_LINES} lines`, () => {
  const files = sourceFiles(join(REPO, 'src'));
  expect(files.length).toBeGreaterThan(100);
  const long = files.map((file) => ({ file: relative(REPO, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 })).filter((f) => f.lines > MAX_LINES);
  expect(long).toEqual([]);
});
