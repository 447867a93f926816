// `npm run test:faults`: the fault suites against a real serve (the stand-in homeserver child, the tiny
// model). One file at a time: each runs a whole stack and they share 2 cores with everything else.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
    fileParallelism: false,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
