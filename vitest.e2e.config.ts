// End-to-end tests of the chat window in Debian Chromium (playwright-core): `npm run test:e2e`.
// Separate from the unit config: one worker, long timeouts, run after a build.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
