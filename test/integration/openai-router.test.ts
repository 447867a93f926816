// The router over the real Ollama and OpenAI-compatible backends against the local servers: a fallback
// from a failing Ollama primary, and a local-only bot refused the "cloud" endpoint (a remote host
// name answered by a local server, so it counts as remote).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings } from '../../main/common/settings-schema.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';
import { hostMappingFetch, OpenAITestServer } from '../support/openai-server.ts';

let ollama: OllamaTestServer;
let cloud: OpenAITestServer;
let router: InferenceRouter;

beforeAll(async () => {
  ollama = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
  cloud = await OpenAITestServer.start({ models: ['gpt-4o-mini'], apiKey: 'sk-cloud-123456789' });
  const openai = new OpenAIBackend({
    getEndpoints: () => [
      {
        id: 'cloud',
        url: 'https://api.cloud.example/v1',
        apiKeyRef: 'cloud-key',
        requestsPerMinute: 100,
        timeoutMs: 5000,
        failover: [],
      },
    ],
    resolveSecret: async (ref) => (ref === 'cloud-key' ? 'sk-cloud-123456789' : undefined),
    fetch: hostMappingFetch({ 'api.cloud.example': cloud.url }),
  });
  router = new InferenceRouter({
    backends: [new OllamaBackend({ host: ollama.url }), openai],
    getSettings: defaultSettings,
  });
});
afterAll(async () => {
  await ollama.close();
  await cloud.close();
});

async function reply(bot: ReturnType<typeof botSchema.parse>): Promise<string> {
  let text = '';
  for await (const c of router.chat({ bot, messages: [{ role: 'user', content: 'ping' }] }))
    if (c.type === 'text') text += c.text;
  return text;
}

describe('router over real backends', () => {
  it('answers from Ollama, and falls back to the endpoint when the Ollama model is missing', async () => {
    expect(await reply(botSchema.parse({ id: 'a', displayName: 'A', model: 'ollama:qwen2.5:0.5b' }))).toBe(
      'Echo: ping',
    );
    const bot = botSchema.parse({
      id: 'b',
      displayName: 'B',
      model: 'ollama:mistral',
      fallback: ['openai:cloud/gpt-4o-mini'],
    });
    expect(await reply(bot)).toBe('Echo: ping');
    expect(router.recentDecisions().at(-1)).toMatchObject({
      model: 'openai:cloud/gpt-4o-mini',
      reason: expect.stringContaining('ollama:mistral failed (ModelNotFound)'),
    });
    expect(cloud.chatRequests()).toHaveLength(1);
  });

  it('never sends a local-only bot to the cloud endpoint, and says so', async () => {
    const before = cloud.requests.length;
    const bot = botSchema.parse({
      id: 'private',
      displayName: 'P',
      model: 'ollama:mistral',
      fallback: ['openai:cloud/gpt-4o-mini'],
      localOnly: true,
    });
    await expect(reply(bot)).rejects.toMatchObject({
      code: 'ModelNotFound',
      message: expect.stringContaining('not tried because the bot is local-only'),
    });
    const cloudOnly = botSchema.parse({
      id: 'private2',
      displayName: 'P',
      model: 'openai:cloud/gpt-4o-mini',
      localOnly: true,
    });
    await expect(reply(cloudOnly)).rejects.toMatchObject({
      code: 'PolicyRefused',
      hint: expect.stringContaining('local model'),
    });
    expect(cloud.requests.length).toBe(before);
  });
});
