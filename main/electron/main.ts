// The Electron entry: resolves paths, then hands over to DesktopApp. Everything testable lives there.
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app } from 'electron';
import { createLogger } from '../core/logging/logger.ts';
import { defaultDataDir } from '../core/paths.ts';
import { DesktopApp } from './desktop-app.ts';
// Swap for createAppCore from '../core/app-core.ts' once it lands (same CreateCore signature).
import { createPlaceholderCore as createCore } from './placeholder-core.ts';

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
  page: devServerUrl ? { url: devServerUrl } : { file: join(dist, 'renderer', 'index.html') },
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
