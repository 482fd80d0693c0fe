import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // End-to-end tests wait for real processes on a shared 2-core machine: a deadline is there to
    // end a hang, not to judge speed (timing claims belong to bench/).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: end-to-end tests spawn real processes; keep the worker count modest.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
