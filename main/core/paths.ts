// Where the app keeps its data: one folder, laid out the same in Electron and serve.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface DataPaths {
  root: string;
  settings: string;
  secrets: string;
  homeserver: string;
  models: string;
  state: string;
  logs: string;
}

export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (env.AGENT_ROOM_DATA_DIR) return resolve(env.AGENT_ROOM_DATA_DIR);
  const home = homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Agent Room');
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Agent Room');
  return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'agent-room');
}

export function dataPaths(root: string): DataPaths {
  const r = resolve(root);
  return {
    root: r,
    settings: join(r, 'settings.json'),
    secrets: join(r, 'secrets.json'),
    homeserver: join(r, 'homeserver'),
    models: join(r, 'models'),
    state: join(r, 'state'),
    logs: join(r, 'logs'),
  };
}
