// A vitest setup file: while NOI_RUNNING_TESTS_DIR is set (scripts/run-suite.sh),
// each test worker keeps the name of what it is running in a file of its own
// there, so a suite stopped at its deadline names the test that stalled. Written
// synchronously in the worker, before the test's own hooks: a test blocked in a
// synchronous child is named too (a reporter hears of tests late, in batches).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

const dir = process.env.NOI_RUNNING_TESTS_DIR;
if (dir) {
  const file = join(dir, String(process.pid));
  const record = (what: string): void => writeFileSync(file, `${what}\n`);
  beforeAll(({}, suite) => record(`${suite.fullName} (setting up the file)`));
  beforeEach((context) => record(context.task.fullName));
  afterEach((context) => record(`${context.task.file.fullName} (cleaning up after: ${context.task.fullName})`));
  afterAll(() => rmSync(file, { force: true }));
}
