import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2 cores: keep workers few so real inference and servers are not starved.
    maxWorkers: 2,
    pool: 'forks',
    // electron-store imports electron; inlined, it sees the shared mock (test/support/electron-mock.ts).
    server: { deps: { inline: ['electron-store'] } },
    globalSetup: ['test/global-setup.ts'],
    // matrix-js-sdk 43's RoomEncryptor starts "outgoing requests in background" without awaiting it; when a
    // client stops during an encryption that promise rejects with nobody listening. A known SDK bug (serve
    // logs it and keeps running); every other unhandled error still fails the run.
    onUnhandledError: (error) => (error.message === 'OutgoingRequestsManager was stopped' ? false : undefined),
  },
});
