import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The end-to-end tests share one real Nix store and build real closures: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    // Names the running test in NOI_RUNNING_TESTS_DIR for scripts/run-suite.sh's deadline.
    setupFiles: ['test/helpers/record-running-test.ts'],
  },
});
