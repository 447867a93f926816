// Discovery over fake Ollama, LM Studio and Jan stores built in a temp folder.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDiscoveryRoots, discoverModels, isGgufFile } from '../../main/core/inference/discovery/index.ts';

const gguf = (extra = 'x') => Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0]), Buffer.from(extra)]);
let root: string;
const put = (rel: string, content: Buffer | string) => {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
};
const hex = (c: string) => c.repeat(64);
const manifest = (digest: string) =>
  JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${hex('c')}` },
    layers: [
      { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${digest}`, size: 9 },
      { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${hex('d')}`, size: 3 },
    ],
  });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'discovery-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('discoverModels', () => {
  it('lists GGUF files from every source with where they came from, and skips what is not GGUF', async () => {
    const data = put('data/models/tiny.gguf', gguf('data'));
    put('data/models/notes.gguf', 'not a model');
    const blob = put(`ollama/blobs/sha256-${hex('a')}`, gguf('ollama'));
    put(`ollama/blobs/sha256-${hex('d')}`, '{{ .Prompt }}');
    put('ollama/manifests/registry.ollama.ai/library/qwen2.5/0.5b', manifest(hex('a')));
    put('ollama/manifests/registry.ollama.ai/library/qwen2.5/latest', manifest(hex('a'))); // second tag, same blob
    put(`ollama/manifests/hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF/Q4_K_M`, manifest(hex('b'))); // blob missing
    put('ollama/manifests/registry.ollama.ai/library/broken/latest', '{not json');
    const lms = put(
      'lmstudio/lmstudio-community/Qwen2.5-1.5B-Instruct-GGUF/Qwen2.5-1.5B-Instruct-Q4_K_M.gguf',
      gguf('lms'),
    );
    put('lmstudio/lmstudio-community/Qwen2-VL/mmproj-model-f16.gguf', gguf('proj'));
    const split = put('lmstudio/pub/big/big-00001-of-00002.gguf', gguf('p1'));
    put('lmstudio/pub/big/big-00002-of-00002.gguf', gguf('p2'));
    const jan = put('jan/llama3.2-1b-instruct/model.gguf', gguf('jan'));
    put('jan/llama3.2-1b-instruct/model.json', '{}');
    const folder = put('mine/Deep/Er/phi.GGUF', gguf('mine'));

    const models = await discoverModels({
      dataModels: join(root, 'data/models'),
      folders: [join(root, 'mine')],
      ollama: [join(root, 'ollama'), join(root, 'no-such-store')],
      lmstudio: [join(root, 'lmstudio')],
      jan: [join(root, 'jan')],
    });

    expect(models.map((m) => [m.source, m.name, m.ref])).toEqual([
      ['file', 'tiny', `llama:${data}`],
      ['folder', 'phi', `llama:${folder}`],
      ['ollama-store', 'qwen2.5:0.5b', `llama:${blob}`],
      ['lmstudio', 'Qwen2.5-1.5B-Instruct-Q4_K_M', `llama:${lms}`],
      ['lmstudio', 'big-00001-of-00002', `llama:${split}`],
      ['jan', 'model', `llama:${jan}`],
    ]);
    const ollama = models.find((m) => m.source === 'ollama-store')!;
    expect(ollama).toMatchObject({ backend: 'llama', local: true, sizeBytes: gguf('ollama').length });
    expect(ollama.location).toBe(`Ollama store ${join(root, 'ollama')} (qwen2.5:0.5b)`);
    expect(models.find((m) => m.source === 'file')!.location).toBe(data);
  });

  it('follows symlinks to GGUF files and returns nothing for missing roots', async () => {
    const target = put('elsewhere/real.gguf', gguf());
    mkdirSync(join(root, 'links'));
    symlinkSync(target, join(root, 'links/linked.gguf'));
    expect((await discoverModels({ folders: [join(root, 'links')] })).map((m) => m.name)).toEqual(['linked']);
    expect(await discoverModels({ ollama: [join(root, 'nope')], lmstudio: [join(root, 'nope2')] })).toEqual([]);
  });

  it('checks the magic bytes', async () => {
    expect(await isGgufFile(put('a.gguf', gguf()))).toBe(true);
    expect(await isGgufFile(put('b.gguf', 'GGU'))).toBe(false);
    expect(await isGgufFile(join(root, 'missing.gguf'))).toBe(false);
  });
});

describe('defaultDiscoveryRoots', () => {
  it('follows OLLAMA_MODELS and each app’s folders per OS', () => {
    const linux = defaultDiscoveryRoots({
      home: '/home/a',
      platform: 'linux',
      env: {},
      dataModels: '/d/models',
      folders: ['/x'],
    });
    expect(linux).toEqual({
      dataModels: '/d/models',
      folders: ['/x'],
      ollama: ['/home/a/.ollama/models', '/usr/share/ollama/.ollama/models'],
      lmstudio: ['/home/a/.lmstudio/models', '/home/a/.cache/lm-studio/models'],
      jan: [
        '/home/a/jan/models',
        '/home/a/.local/share/Jan/data/models',
        '/home/a/.local/share/Jan/data/llamacpp/models',
      ],
    });
    const mac = defaultDiscoveryRoots({
      home: '/Users/a',
      platform: 'darwin',
      env: { OLLAMA_MODELS: '/Volumes/ext/ollama' },
    });
    expect(mac.ollama).toEqual(['/Volumes/ext/ollama']);
    expect(mac.jan).toContain('/Users/a/Library/Application Support/Jan/data/llamacpp/models');
  });
});
