// The Electron entry: resolves paths, then hands over to DesktopApp. Everything testable lives there.
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app } from 'electron';
import { createAppCore } from '../core/app/app-core.ts';
import { createLogger } from '../core/logging/logger.ts';
import { dataPaths, defaultDataDir } from '../core/paths.ts';
import type { CreateCore } from './core-port.ts';
import { DesktopApp } from './desktop-app.ts';

/** The headless core behind the shell's port; the shell adds the desktop-only handlers itself. */
const createCore: CreateCore = (o) =>
  createAppCore({
    paths: dataPaths(o.dataDir),
    logger: o.logger,
    shell: 'desktop',
    settingsStore: o.settingsStore,
    secretStore: o.secretStore,
    resourcesDir: o.resourcesDir,
  });

// Bundled to dist/main/electron/main.js; preload and renderer sit beside it under dist/.
const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', '..');
// Only an unpackaged build may load a dev server: a packaged app must never load remote code.
const devServerUrl = !app.isPackaged ? process.env.AGENT_ROOM_DEV_SERVER_URL : undefined;

const desktop = new DesktopApp({
  createCore,
  dataDir: defaultDataDir(),
  resourcesDir: app.isPackaged ? process.resourcesPath : join(dist, '..', 'resources'),
  preloadPath: join(dist, 'preload', 'preload.cjs'),
  // The built page is served as app://agent-room from dist/renderer (inside app.asar when packaged).
  page: devServerUrl ? { url: devServerUrl } : { rendererDir: join(dist, 'renderer') },
  createLogger: (logDir) => createLogger({ logDir, name: 'app', console: !app.isPackaged }),
  platform: process.platform,
  argv: process.argv,
  env: process.env,
  homeDir: homedir(),
});

desktop.run().catch((err: unknown) => {
  console.error('Agent Room could not start:', err);
  app.exit(1);
});
