// The desktop app's API server (ApiService): no port while api.enabled is off; turned on in settings it serves
// /v1 on control.port at 127.0.0.1 (the official openai client answers through it); turned off, it stops listening.
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHandler } from '../../main/core/api/api-handler.ts';
import { ApiKeyStore } from '../../main/core/api/api-keys.ts';
import { ApiService } from '../../main/core/api/api-service.ts';
import { embedFor } from '../../main/core/inference/embeddings.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { ConfSettingsStore } from '../../main/core/settings/settings-store.ts';
import { tinyModel } from '../support/models.ts';

let backend: LlamaBackend;
let service: ApiService;
let settings: ConfSettingsStore;
let key: string;
let model: string;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const detail = () => (service.state.status === 'running' ? (service.state.detail ?? '') : service.state.status);

beforeAll(async () => {
  model = `llama:${await tinyModel()}`;
  const dir = mkdtempSync(join(tmpdir(), 'api-desktop-'));
  settings = new ConfSettingsStore({ dataDir: dir, logger: { info() {}, warn() {} } });
  backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 2, contextSize: 512 });
  const router = new InferenceRouter({ backends: [backend], getSettings: () => settings.get() });
  const keys = new ApiKeyStore({ file: join(dir, 'state', 'api-keys.json') });
  key = (await keys.create('desktop')).key;
  const handler = new ApiHandler({
    settings: () => settings.get(),
    keys,
    inference: {
      router,
      listModels: (signal) => router.listModels(signal),
      embed: (r) => embedFor({ backendFor: (m) => router.backendFor(m), audit: undefined, now: Date.now }, r),
    },
  });
  service = new ApiService({ handler, settings });
});
afterAll(async () => {
  await service?.stop(1000);
  await backend?.close();
});

describe('the desktop API server', () => {
  it('opens no port while api.enabled is off, serves /v1 on control.port once on, and closes when turned off', async () => {
    const port = await freePort();
    settings.update((s) => ({ ...s, control: { port } }));
    await service.start(new AbortController().signal);
    expect(detail()).toMatch(/off/);
    await expect(fetch(`http://127.0.0.1:${port}/v1/models`)).rejects.toThrow();

    settings.update((s) => ({ ...s, api: { ...s.api, enabled: true } }));
    await until('the server to listen', () => detail().includes(`127.0.0.1:${port}/v1`));
    expect(service.url).toBe(`http://127.0.0.1:${port}/v1`);
    const client = new OpenAI({ apiKey: key, baseURL: service.url, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 3,
    });
    expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
    const other = await fetch(`http://127.0.0.1:${port}/api/status.get`, { method: 'POST' });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('unknown_url');

    settings.update((s) => ({ ...s, api: { ...s.api, enabled: false } }));
    await until('the server to close', () => detail().includes('off'));
    await expect(fetch(`http://127.0.0.1:${port}/v1/models`)).rejects.toThrow();
  });
});
