// Bad input that arrives as files, imports and backend answers, one table per kind: malformed and wrongly
// typed settings, broken matrix-agent-room YAML, garbage from Ollama and OpenAI-compatible servers, a
// truncated GGUF, a data folder that cannot be written and a disk that fills during a download. Each row
// checks the error says what to do, that what the person wrote is kept, and that nothing crashes.
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { httpDownload } from '../../main/core/inference/download/http-download.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import type { ChatRequest } from '../../main/core/inference/types.ts';
import { importAgentRoomConfig } from '../../main/core/settings/import-yaml.ts';
import { ConfSettingsStore, loadSettings, SettingsValidationError } from '../../main/core/settings/settings-store.ts';
import { runCli } from '../support/cli.ts';
import { DownloadServer } from '../support/download-server.ts';
import { tinyModel } from '../support/models.ts';
import { OllamaTestServer, fakeModel } from '../support/ollama-server.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

const quietLog = { info() {}, warn() {} };
const temp = (p = 'bad-input-') => mkdtempSync(join(tmpdir(), p));

// ── settings.json ────────────────────────────────────────────────────────────────────────────────────
export const settingsCases: Array<[name: string, text: string, key: RegExp]> = [
  ['not JSON at all', 'this is { not json', /^$/],
  ['truncated JSON', '{"version": 1, "bots": [', /^$/],
  ['empty file', '', /^$/],
  ['a JSON array', '[1, 2, 3]', /.*/],
  ['null', 'null', /.*/],
  [
    'temperature as a string',
    '{"version":1,"bots":[{"id":"a","displayName":"A","model":"ollama:x","temperature":"hot"}]}',
    /bots\.0\.temperature/,
  ],
  [
    'temperature out of range',
    '{"version":1,"bots":[{"id":"a","displayName":"A","model":"ollama:x","temperature":7}]}',
    /bots\.0\.temperature/,
  ],
  [
    'bot id with spaces and capitals',
    '{"version":1,"bots":[{"id":"My Bot","displayName":"A","model":"ollama:x"}]}',
    /bots\.0/,
  ],
  ['bot without a model', '{"version":1,"bots":[{"id":"a","displayName":"A"}]}', /bots\.0/],
  [
    'maxTokens negative',
    '{"version":1,"bots":[{"id":"a","displayName":"A","model":"ollama:x","maxTokens":-5}]}',
    /bots\.0\.maxTokens/,
  ],
  ['unknown theme', '{"version":1,"ui":{"theme":"purple"}}', /ui\.theme/],
  ['port out of range', '{"version":1,"control":{"port":70000}}', /control\.port/],
  ['homeserver mode unknown', '{"version":1,"homeserver":{"mode":"cloud"}}', /homeserver/],
  ['external homeserver without a URL', '{"version":1,"homeserver":{"mode":"external"}}', /homeserver/],
  ['guard.maxHops as an object', '{"version":1,"guard":{"maxHops":{"n":3}}}', /guard\.maxHops/],
  ['bots as an object', '{"version":1,"bots":{"a":1}}', /bots/],
];

describe('bad settings.json: the app starts with defaults for the wrong keys and keeps the file as written', () => {
  it.each(settingsCases)('%s', (_name, text, key) => {
    const dir = temp();
    const file = join(dir, 'settings.json');
    writeFileSync(file, text);
    const loaded = loadSettings({ file, logger: quietLog });
    expect(loaded.issues.length).toBeGreaterThan(0);
    expect(loaded.issues.some((i) => key.test(i.path))).toBe(true);
    for (const i of loaded.issues) expect(i.message.length).toBeGreaterThan(3);
    // Nothing lost: the file as the person wrote it is kept byte for byte next to the repaired one.
    expect(loaded.backupPath).toBeDefined();
    expect(readFileSync(loaded.backupPath!, 'utf8')).toBe(text);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toBeTypeOf('object');
  });

  it('a wrong value saved through the store is refused with the key and what to do, and nothing is written', () => {
    const dir = temp();
    const store = new ConfSettingsStore({ dataDir: dir, logger: quietLog });
    store.set({ ...defaultSettings(), guard: { ...defaultSettings().guard, maxHops: 2 } });
    const before = readFileSync(join(dir, 'settings.json'), 'utf8');
    const bad = { ...store.get(), ui: { ...store.get().ui, theme: 'neon' } } as never;
    expect(() => store.set(bad)).toThrow(SettingsValidationError);
    expect(() => store.set(bad)).toThrow(/ui\.theme.*Correct these values/);
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(before);
  });
});

// ── matrix-agent-room YAML imports ───────────────────────────────────────────────────────────────────
export const yamlCases: Array<[name: string, yaml: string, expect: RegExp]> = [
  ['YAML syntax error', 'models:\n  - name: a\n   backend: [unclosed', /line|YAML|column/i],
  ['a list at the top', '- a\n- b\n', /mapping|top/i],
  ['a plain string', 'just words', /mapping|top/i],
  ['models is a string', 'models: none\n', /models/],
  ['a model without a name', 'models:\n  - backend: ollama\n    model: llama3\n', /name|model/i],
  [
    'max_tokens as text',
    'models:\n  - name: a\n    backend: ollama\n    model: llama3\n    max_tokens: lots\n',
    /max_tokens/,
  ],
  ['an unknown backend', 'models:\n  - name: a\n    backend: telepathy\n    model: x\n', /backend|telepathy/],
  [
    'an API key written in the file',
    'models:\n  - name: a\n    backend: openai\n    model: gpt\n    api_key: sk-written-in-yaml-123\n',
    /api_key|secret|key/i,
  ],
];

describe('bad matrix-agent-room YAML: a typed error with the place, or an import whose report names what was left out', () => {
  it.each(yamlCases)('%s', (_name, yaml, pattern) => {
    let message: string;
    try {
      const result = importAgentRoomConfig(yaml, {});
      message = [...result.report.notMapped, ...result.report.warnings].join('\n');
      expect(JSON.stringify(result.settings)).not.toContain('sk-written-in-yaml');
    } catch (err) {
      expect((err as Error).name).toBe('AgentRoomImportError');
      message = (err as Error).message;
    }
    expect(message).toMatch(pattern);
  });
});

// ── backends answering garbage, a truncated model ───────────────────────────────────────────────────
let ollama: OllamaTestServer;
let openai: OpenAITestServer;
let llama: LlamaBackend;
beforeAll(async () => {
  ollama = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
  openai = await OpenAITestServer.start({ models: ['m1'] });
  llama = new LlamaBackend({ threads: 1, gpu: false, sequences: 1, contextSize: 256 });
});
afterAll(async () => {
  // Closed together and bounded: on a loaded 2-core CI machine one slow close must not time the hook out.
  const bounded = (p: Promise<void> | undefined) =>
    Promise.race([p, new Promise<void>((r) => setTimeout(r, 15_000).unref())]);
  await Promise.all([bounded(ollama?.close()), bounded(openai?.close()), bounded(llama?.close())]);
});

async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of it) void _;
}
const ask = (model: string): ChatRequest => ({
  model,
  messages: [{ role: 'user', content: 'hello' }],
  sampling: { maxTokens: 8 },
});
const openaiBackend = () =>
  new OpenAIBackend({
    getEndpoints: () => [{ id: 'a', url: openai.url, requestsPerMinute: 100, timeoutMs: 5000, failover: [] }],
    retry: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 1000 },
  } as never);

export const backendCases: Array<[name: string, run: () => Promise<void>, code: RegExp]> = [
  [
    'Ollama answers garbage to /api/chat',
    async () => {
      ollama.addFault({ kind: 'garbage' }, '/api/chat');
      await drain(new OllamaBackend({ host: ollama.url }).chat(ask('ollama:qwen2.5:0.5b')));
    },
    /BackendUnavailable|BadResponse|Invalid|Internal/,
  ],
  [
    'Ollama answers 500',
    async () => {
      ollama.addFault({ kind: 'status', status: 500, error: 'boom' }, '/api/chat');
      await drain(new OllamaBackend({ host: ollama.url }).chat(ask('ollama:qwen2.5:0.5b')));
    },
    /BackendUnavailable|Internal|BadResponse/,
  ],
  [
    'OpenAI-compatible server streams garbage',
    async () => {
      openai.addFault({ kind: 'garbage' }, '/v1/chat/completions');
      await drain(openaiBackend().chat(ask('openai:a/m1')));
    },
    /BadResponse|BackendUnavailable|Invalid|Internal/,
  ],
  [
    'OpenAI-compatible server answers 500 every time',
    async () => {
      for (let i = 0; i < 3; i++) openai.addFault({ kind: 'status', status: 500 }, '/v1/chat/completions');
      await drain(openaiBackend().chat(ask('openai:a/m1')));
    },
    /BackendUnavailable|Internal/,
  ],
  [
    'truncated GGUF file',
    async () => {
      const path = join(temp(), 'truncated.gguf');
      writeFileSync(path, readFileSync(await tinyModel()).subarray(0, 100_000));
      await drain(llama.chat(ask(`llama:${path}`)));
    },
    /InvalidModelFile/,
  ],
  [
    'a text file named .gguf',
    async () => {
      const path = join(temp(), 'notes.gguf');
      writeFileSync(path, 'these are my notes, not a model');
      await drain(llama.chat(ask(`llama:${path}`)));
    },
    /InvalidModelFile/,
  ],
];

describe('backends answering garbage and broken model files: a typed error with a hint, the backend still usable', () => {
  it.each(backendCases)('%s', async (_name, run, code) => {
    const err = (await run().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; hint?: string; message?: string } | undefined;
    expect(err, 'an error').toBeDefined();
    expect(err!.code).toMatch(code);
    expect(err!.hint?.length ?? 0).toBeGreaterThan(10);
    expect(err!.message?.length ?? 0).toBeGreaterThan(10);
  });

  it('each backend still answers after its garbage', async () => {
    await drain(new OllamaBackend({ host: ollama.url }).chat(ask('ollama:qwen2.5:0.5b')));
    await drain(openaiBackend().chat(ask('openai:a/m1')));
    await drain(llama.chat(ask(`llama:${await tinyModel()}`)));
  });
});

// ── the disk and the data folder ─────────────────────────────────────────────────────────────────────
describe('the data folder cannot be written, the disk fills during a download', () => {
  it('serve with a data folder under a regular file (root ignores chmod, so this is how "not writable" is made) exits 1 saying what to do', async () => {
    const file = join(temp(), 'a-file');
    writeFileSync(file, 'x');
    const { code, output } = await runCli(
      ['--data-dir', join(file, 'data'), 'serve', '--port', '0', '--no-bots'],
      { AGENT_ROOM_CONDUIT: '' },
      30_000,
    );
    expect(code).toBe(1);
    expect(output).toMatch(/Cannot write to the data folder .*--data-dir.*permissions/s);
  });

  it('a full disk during a download (the .partial file is a link to /dev/full: ENOSPC) fails with a clear error and removes nothing else', async () => {
    const server = await DownloadServer.start({ 'm.gguf': readFileSync(await tinyModel()) });
    try {
      const dir = temp();
      writeFileSync(join(dir, 'keep.gguf'), 'the person’s other model');
      const dest = join(dir, 'new.gguf');
      symlinkSync('/dev/full', `${dest}.partial`);
      const err = (await httpDownload({ url: `${server.url}/m.gguf`, dest, maxRetries: 1, retryDelayMs: 10 }).then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: string; message?: string; hint?: string };
      expect(err).toBeDefined();
      expect(err.message).toMatch(/ENOSPC|no space left/);
      expect(err.hint).toMatch(/disk is full: free some space/);
      expect(readdirSync(dir)).toContain('keep.gguf');
    } finally {
      await server.close();
    }
  });
});
