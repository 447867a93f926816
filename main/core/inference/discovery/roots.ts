// Where other apps keep GGUF files on each OS: Ollama's model store, LM Studio's and Jan's model folders.
import { join } from 'node:path';

export interface DiscoveryRoots {
  /** <data>/models: what Agent Room downloaded. */
  dataModels?: string;
  /** Folders a person added in settings (inference.modelFolders). */
  folders?: string[];
  /** Ollama model stores (each holds manifests/ and blobs/). */
  ollama?: string[];
  /** LM Studio model folders (<publisher>/<repo>/*.gguf). */
  lmstudio?: string[];
  /** Jan model folders (<model id>/*.gguf). */
  jan?: string[];
}

export interface DefaultRootsInput {
  home: string;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  dataModels?: string;
  folders?: string[];
}

export function defaultDiscoveryRoots({
  home,
  platform,
  env,
  dataModels,
  folders = [],
}: DefaultRootsInput): DiscoveryRoots {
  const ollama = env.OLLAMA_MODELS
    ? [env.OLLAMA_MODELS]
    : // The Linux install script runs Ollama as its own user with the store under /usr/share/ollama.
      [join(home, '.ollama', 'models'), ...(platform === 'linux' ? ['/usr/share/ollama/.ollama/models'] : [])];
  const lmstudio = [join(home, '.lmstudio', 'models'), join(home, '.cache', 'lm-studio', 'models')];
  // Jan before 0.6 kept ~/jan/models; later versions keep models in their data folder under llamacpp/models.
  const janData =
    platform === 'darwin'
      ? join(home, 'Library', 'Application Support', 'Jan', 'data')
      : platform === 'win32'
        ? join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Jan', 'data')
        : join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'Jan', 'data');
  const jan = [join(home, 'jan', 'models'), join(janData, 'models'), join(janData, 'llamacpp', 'models')];
  return { ...(dataModels ? { dataModels } : {}), folders, ollama, lmstudio, jan };
}
