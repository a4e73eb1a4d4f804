// Prints the plain closing line "tests: N passed, N failed, N skipped" from
// vitest's JSON reports: one report gives that bed's counts, several their sum
// (the last line of test.sh, which CI reads).
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const skippedToo = process.argv.includes('--skipped');
const files = process.argv.slice(2).filter((a) => a !== '--skipped');
for (const file of files) {
  // A bed whose run never wrote a report counts as one failure, never as a pass.
  if (!existsSync(file)) {
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests + (report.success === false && report.numFailedTests === 0 ? 1 : 0);
  skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
// With --skipped (test.sh's line per bed): each failed test follows with the
// first lines of its error (CI shows only the end of the output, so a failure
// must be named here), then each skipped test, with why in its name (e.g.
// "(skipped: this kernel cannot mount vfat)"). Never on the closing line of
// all beds, which must stay last.
if (skippedToo && files.length === 1 && existsSync(files[0])) {
  const report = JSON.parse(readFileSync(files[0], 'utf8'));
  for (const file of report.testResults ?? []) {
    const name = file.name.replace(`${process.cwd()}/`, '');
    for (const test of file.assertionResults ?? []) {
      if (test.status !== 'failed') continue;
      console.log(`  failed: ${name}: ${test.fullName ?? test.title}`);
      const message = (test.failureMessages ?? []).join('\n').split('\n').slice(0, 8);
      for (const line of message) console.log(`    ${line.slice(0, 300)}`);
    }
    // A file that failed outside its tests (an import, a hook) has no failed test to name.
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed')) {
      console.log(`  failed: ${name}: ${(file.message ?? '').split('\n').slice(0, 8).join('\n    ')}`);
    }
  }
  for (const file of report.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'pending' || test.status === 'skipped' || test.status === 'todo') console.log(`  skipped: ${test.fullName ?? test.title}`);
    }
  }
}
