// Benchmarks run on vitest only as a TypeScript runner: one file per benchmark
// (npm run bench -- progress runs one), results written by each, the table
// printed at the end by report.ts. They assert nothing about timings.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    disableConsoleIntercept: true,
    globalSetup: ['bench/report.ts'],
    reporters: ['dot'],
  },
});
