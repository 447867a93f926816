// Privacy that decides: a request holding a card number, a key or a settings pattern (in the question or in
// the context that goes with it) never reaches the cloud endpoint; it is answered by the bot's local fallback
// (the Ollama test server on 127.0.0.1) or refused with a notice naming the kind, never the value. The cloud
// endpoint is a remote host name answered by a local OpenAI-compatible server, so it counts as remote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings, settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import { failureText } from '../../main/core/bots/reply-job.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import type { ChatMessage } from '../../main/core/inference/types.ts';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';
import { hostMappingFetch, OpenAITestServer } from '../support/openai-server.ts';

let ollama: OllamaTestServer;
let cloud: OpenAITestServer;
let router: InferenceRouter;
let settings: Settings;
const logger = createMemoryLogger();

const CARD = '4111 1111 1111 1111';
const KEY = `sk-proj-${'Ab3d'.repeat(12)}`;
const CLOUD = 'openai:cloud/gpt-4o-mini';
const LOCAL = 'ollama:qwen2.5:0.5b';

beforeAll(async () => {
  settings = defaultSettings();
  ollama = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
  cloud = await OpenAITestServer.start({ models: ['gpt-4o-mini'], apiKey: 'sk-cloud-123456789' });
  const openai = new OpenAIBackend({
    getEndpoints: () => [
      {
        id: 'cloud',
        url: 'https://api.cloud.example/v1',
        apiKeyRef: 'k',
        requestsPerMinute: 100,
        timeoutMs: 5000,
        failover: [],
      },
    ],
    resolveSecret: async () => 'sk-cloud-123456789',
    fetch: hostMappingFetch({ 'api.cloud.example': cloud.url }),
  });
  router = new InferenceRouter({
    backends: [new OllamaBackend({ host: ollama.url }), openai],
    getSettings: () => settings,
    logger: logger.logger,
  });
});
afterAll(async () => {
  await ollama.close();
  await cloud.close();
});

const withFallback = botSchema.parse({ id: 'helper', displayName: 'Helper', model: CLOUD, fallback: [LOCAL] });
const cloudOnly = botSchema.parse({ id: 'cloudy', displayName: 'Cloudy', model: CLOUD });

async function reply(bot: typeof withFallback, messages: ChatMessage[]): Promise<string> {
  let text = '';
  for await (const c of router.chat({ bot, messages })) if (c.type === 'text') text += c.text;
  return text;
}
const ask = (q: string): ChatMessage[] => [
  { role: 'system', content: 'You are Helper.' },
  { role: 'user', content: q },
];

describe('sensitive requests stay on this machine', () => {
  it('sends an ordinary prompt to the cloud model (the test sees cloud requests)', async () => {
    const before = cloud.chatRequests().length;
    expect(await reply(withFallback, ask('what is 2+2?'))).toBe('Echo: what is 2+2?');
    expect(cloud.chatRequests().length).toBe(before + 1);
    expect(router.recentDecisions().at(-1)?.model).toBe(CLOUD);
  });

  it('answers a card number in the question locally: the cloud gets 0 requests', async () => {
    const before = cloud.requests.length;
    const local = ollama.requestsTo('/api/chat').length;
    const text = await reply(withFallback, ask(`is ${CARD} a valid card?`));
    expect(text).toContain('Echo:');
    expect(cloud.requests.length).toBe(before);
    expect(ollama.requestsTo('/api/chat').length).toBe(local + 1);
    expect(router.recentDecisions().at(-1)).toMatchObject({
      model: LOCAL,
      skipped: [{ model: CLOUD, reason: expect.stringContaining('sensitive data (card)') }],
    });
    const logged = logger.records.find((e) => e.msg === 'sensitive request: only models on this machine');
    expect(logged?.kinds).toEqual(['card']);
    expect(JSON.stringify(logger.records)).not.toContain(CARD);
  });

  it('checks the context too: a key only in an earlier message keeps the request local', async () => {
    const before = cloud.requests.length;
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are Helper.' },
      { role: 'user', content: `here is my key ${KEY}, keep it safe` },
      { role: 'assistant', content: 'Noted.' },
      { role: 'user', content: 'what did I just tell you?' },
    ];
    expect(await reply(withFallback, messages)).toBe('Echo: what did I just tell you?');
    expect(cloud.requests.length).toBe(before);
    expect(router.recentDecisions().at(-1)?.model).toBe(LOCAL);
  });

  it('refuses with a notice naming the kind, not the value, when no local model is there', async () => {
    const before = cloud.requests.length;
    const err = await reply(cloudOnly, ask(`charge ${CARD} and use ${KEY}`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'PolicyRefused',
      message: expect.stringContaining('a card number and an API key (openai)'),
      hint: expect.stringContaining('ollama:'),
    });
    const notice = failureText(err);
    expect(notice).not.toContain('4111');
    expect(notice).not.toContain(KEY);
    expect(cloud.requests.length).toBe(before);
  });

  it('takes patterns from settings, and sends everything to the cloud when the check is off', async () => {
    settings = settingsSchema.parse({ privacy: { sensitivePatterns: [{ name: 'project', pattern: 'falcon' }] } });
    const before = cloud.chatRequests().length;
    await expect(reply(cloudOnly, ask('status of Project FALCON?'))).rejects.toMatchObject({
      code: 'PolicyRefused',
      message: expect.stringContaining('a match of the pattern "project"'),
    });
    expect(cloud.chatRequests().length).toBe(before);
    settings = settingsSchema.parse({ privacy: { enabled: false } });
    await reply(cloudOnly, ask(`is ${CARD} valid?`));
    expect(cloud.chatRequests().length).toBe(before + 1);
    settings = defaultSettings();
  });

  it('refuses a settings pattern that is not a valid regular expression', () => {
    const r = settingsSchema.safeParse({ privacy: { sensitivePatterns: [{ name: 'bad', pattern: '([' }] } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/not a valid regular expression/);
  });
});
