import { defineConfig } from 'vitest/config';

/**
 * Two lanes. `unit`: tests that run in this process (pure logic, in-process executor runs through
 * a fake TaskRunner, in-process HTTP, a helper process at most) and need no build; `npm run
 * test:unit` runs them alone. `e2e`: tests that drive the built CLI (`test/helpers/cli.ts`,
 * `test/deploy/rig.ts`) in a temporary workspace. `npm test` builds and runs both.
 */
const UNIT = [
  'src/**/*.test.ts',
  'test/core/unit-*.test.ts',
  'test/analyze/store.test.ts',
  'test/store/*.test.ts',
  'test/faults/hostile-manifest.test.ts',
  'test/dashboard/api.test.ts',
];

export default defineConfig({
  test: {
    // End-to-end tests wait for real processes on a shared 2-core machine: a deadline is there to
    // end a hang, not to judge speed (timing claims belong to bench/).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Four files at a time on two cores: an end-to-end test spends most of its time waiting (for
    // its CLI processes, a racy-window tick, a stalled-job check, a browser), so two at a time left
    // a core idle (125% CPU over the run). SLIPWAY_TEST_WORKERS sets another count.
    maxWorkers: Number(process.env.SLIPWAY_TEST_WORKERS ?? 4),
    // No test leaves a daemon behind: the CLI runs in its own process unless a test asks for the
    // daemon (test/core/daemon.test.ts, which stops what it starts).
    env: { SLIPWAY_DAEMON: '0' },
    fileParallelism: true,
    projects: [
      // Unit test files share their worker's modules (isolate: false): importing the sources again
      // for each of ~80 small files was most of the lane's time. A test that changes process-wide
      // state (env, cwd, a module's cache) restores it, or resets modules (vi.resetModules).
      { extends: true, test: { name: 'unit', include: UNIT, isolate: false } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'], exclude: UNIT } },
    ],
  },
});
