// Finds GGUF files already on disk (Agent Room's own, configured folders, Ollama's store, LM Studio,
// Jan) and lists them as llama: model references with where each came from.
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelInfo, ModelSource } from '../../../common/inference-types.ts';
import type { DiscoveryRoots } from './roots.ts';

const GGUF_MAGIC = Buffer.from('GGUF', 'ascii');
const OLLAMA_MODEL_LAYER = 'application/vnd.ollama.image.model';

/** True when the file starts with the GGUF magic bytes; unreadable files count as not GGUF. */
export async function isGgufFile(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buf = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.equals(GGUF_MAGIC);
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

export async function discoverModels(roots: DiscoveryRoots): Promise<ModelInfo[]> {
  const found: ModelInfo[][] = await Promise.all([
    ...(roots.dataModels ? [scanFolder(roots.dataModels, 'file', 2)] : []),
    ...(roots.folders ?? []).map((f) => scanFolder(f, 'folder', 3)),
    ...(roots.ollama ?? []).map((r) => scanOllamaStore(r)),
    ...(roots.lmstudio ?? []).map((r) => scanFolder(r, 'lmstudio', 3)),
    ...(roots.jan ?? []).map((r) => scanFolder(r, 'jan', 2)),
  ]);
  // The same file can be reached twice (a configured folder inside another root, two tags on one blob):
  // the first source listed above wins.
  const seen = new Set<string>();
  return found.flat().filter((m) => (seen.has(m.ref) ? false : (seen.add(m.ref), true)));
}

function info(path: string, name: string, source: ModelSource, location: string, sizeBytes: number): ModelInfo {
  return { ref: `llama:${path}`, name, backend: 'llama', source, location, sizeBytes, local: true };
}

/** Walks `root` up to `depth` folder levels for *.gguf files with the GGUF magic. */
async function scanFolder(root: string, source: ModelSource, depth: number): Promise<ModelInfo[]> {
  const out: ModelInfo[] = [];
  const walk = async (dir: string, level: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // a missing root is the normal case: the app is not installed
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, e.name);
      if (e.isDirectory() && level < depth) await walk(path, level + 1);
      else if ((e.isFile() || e.isSymbolicLink()) && /\.gguf$/i.test(e.name) && isEntrypoint(e.name)) {
        if (!(await isGgufFile(path))) continue;
        const size = (await stat(path)).size;
        out.push(info(path, e.name.replace(/\.gguf$/i, ''), source, path, size));
      }
    }
  };
  await walk(resolve(root), 1);
  return out;
}

/**
 * Split models load from their first part; vision projectors (mmproj) are not chat models.
 * LM Studio and Jan keep both next to the model.
 */
function isEntrypoint(name: string): boolean {
  if (/^mmproj/i.test(name)) return false;
  const split = /-(\d{5})-of-\d{5}\.gguf$/i.exec(name);
  return !split || split[1] === '00001';
}

interface OllamaManifest {
  layers?: { mediaType?: string; digest?: string; size?: number }[];
}

/** manifests/<registry>/<namespace>/<model>/<tag> → the model layer's blob, blobs/sha256-<hex>. */
async function scanOllamaStore(root: string): Promise<ModelInfo[]> {
  const store = resolve(root);
  const manifests = join(store, 'manifests');
  const out: ModelInfo[] = [];
  for (const registry of await dirs(manifests)) {
    for (const ns of await dirs(join(manifests, registry))) {
      for (const model of await dirs(join(manifests, registry, ns))) {
        const modelDir = join(manifests, registry, ns, model);
        for (const tag of await files(modelDir)) {
          let manifest: OllamaManifest;
          try {
            manifest = JSON.parse(await readFile(join(modelDir, tag), 'utf8')) as OllamaManifest;
          } catch {
            continue; // a half-written or foreign file
          }
          const layer = manifest.layers?.find((l) => l.mediaType === OLLAMA_MODEL_LAYER);
          const hex = /^sha256:([0-9a-f]{64})$/.exec(layer?.digest ?? '')?.[1];
          if (!hex) continue;
          const blob = join(store, 'blobs', `sha256-${hex}`);
          if (!(await isGgufFile(blob))) continue;
          // Ollama shows its own library models as model:tag and others with their full path.
          const name =
            registry === 'registry.ollama.ai' && ns === 'library'
              ? `${model}:${tag}`
              : `${registry}/${ns}/${model}:${tag}`;
          out.push(info(blob, name, 'ollama-store', `Ollama store ${store} (${name})`, (await stat(blob)).size));
        }
      }
    }
  }
  return out;
}

async function dirs(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

async function files(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}
