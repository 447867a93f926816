// Images through the router and the real backends against the recording test servers: Ollama gets base64 in the
// message's `images`, an OpenAI-compatible endpoint `image_url` parts with data URLs; which models see comes from
// Ollama's /api/show capabilities and the endpoint's `vision` setting. A bot whose models cannot see goes to the
// vision task's models when it allows it (a local-only one only to those on this machine), and otherwise is refused
// with one line naming a model that can. No image ever reaches a model that cannot see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings, type Settings } from '../../main/common/settings-schema.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import type { ChatImage, ChatMessage } from '../../main/core/inference/types.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';
import { hostMappingFetch, OpenAITestServer } from '../support/openai-server.ts';

let ollama: OllamaTestServer;
let local: OpenAITestServer;
let cloud: OpenAITestServer;
let router: InferenceRouter;
const settings: Settings = defaultSettings();

const image: ChatImage = { mime: 'image/png', data: new Uint8Array([137, 80, 78, 71, 1, 2, 3, 4]), name: 'x.png' };
const withImage: ChatMessage[] = [{ role: 'user', content: 'what is this?', images: [image] }];

beforeAll(async () => {
  ollama = await OllamaTestServer.start({
    models: [fakeModel('llava:7b'), fakeModel('qwen2.5:0.5b')].map((m) => ({ ...m, vision: m.name === 'llava:7b' })),
  });
  local = await OpenAITestServer.start({ models: ['gemma-vision', 'plain'], visionModels: ['gemma-vision'] });
  cloud = await OpenAITestServer.start({ models: ['gpt-4o'], visionModels: ['gpt-4o'] });
  const endpoint = (id: string, url: string, vision: string[]) => ({
    id,
    url,
    requestsPerMinute: 100,
    timeoutMs: 5000,
    failover: [],
    prices: {},
    vision,
  });
  settings.endpoints.openai = [
    endpoint('llamacpp', local.url, ['gemma-vision']),
    endpoint('cloud', 'https://api.cloud.example/v1', ['*']),
  ];
  const openai = new OpenAIBackend({
    getEndpoints: () => settings.endpoints.openai,
    fetch: hostMappingFetch({ 'api.cloud.example': cloud.url }),
  });
  router = new InferenceRouter({
    backends: [new OllamaBackend({ host: ollama.url }), openai],
    getSettings: () => settings,
  });
});
afterAll(async () => {
  await Promise.all([ollama.close(), local.close(), cloud.close()]);
});

const bot = (over: Record<string, unknown>) => botSchema.parse({ id: 'b', displayName: 'Bee', ...over });

async function answer(b: ReturnType<typeof bot>, messages = withImage): Promise<{ text: string; model?: string }> {
  let text = '';
  let model: string | undefined;
  for await (const c of router.chat({ bot: b, messages, onDecision: (d) => (model = d.model) }))
    if (c.type === 'text') text += c.text;
  return { text, ...(model ? { model } : {}) };
}

describe('which models see', () => {
  it('Ollama from /api/show capabilities, OpenAI-compatible from the endpoint setting', async () => {
    const ollamaBackend = router.backendFor('ollama:llava:7b')!;
    expect(await ollamaBackend.canSeeImages!('ollama:llava:7b')).toBe(true);
    expect(await ollamaBackend.canSeeImages!('ollama:qwen2.5:0.5b')).toBe(false);
    const openai = router.backendFor('openai:llamacpp/plain')!;
    expect(await openai.canSeeImages!('openai:llamacpp/gemma-vision')).toBe(true);
    expect(await openai.canSeeImages!('openai:llamacpp/plain')).toBe(false);
    expect(await openai.canSeeImages!('openai:cloud/anything')).toBe(true);
  });
});

describe('images in the requests', () => {
  it('Ollama: base64 in the message `images`', async () => {
    const before = ollama.requestsTo('/api/chat').length;
    expect((await answer(bot({ model: 'ollama:llava:7b' }))).model).toBe('ollama:llava:7b');
    const sent = ollama.requestsTo('/api/chat').slice(before)[0]!.body!.messages as Array<Record<string, unknown>>;
    expect(sent.at(-1)).toMatchObject({ role: 'user', content: 'what is this?' });
    expect(Buffer.from((sent.at(-1)!.images as string[])[0]!, 'base64')).toEqual(Buffer.from(image.data));
  });
  it('OpenAI-compatible: a text part then an image_url data URL', async () => {
    await answer(bot({ model: 'openai:llamacpp/gemma-vision' }));
    const body = local.chatRequests().at(-1)!.body!;
    const content = (body.messages as Array<{ content: unknown }>).at(-1)!.content;
    expect(content).toEqual([
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from(image.data).toString('base64')}` } },
    ]);
  });
  it('a text request to a vision model is sent as before (a plain string)', async () => {
    await answer(bot({ model: 'openai:llamacpp/gemma-vision' }), [{ role: 'user', content: 'hi' }]);
    expect((local.chatRequests().at(-1)!.body!.messages as Array<{ content: unknown }>).at(-1)!.content).toBe('hi');
  });
});

describe('a bot whose model cannot see', () => {
  const vision = { name: 'vision', models: ['openai:cloud/gpt-4o', 'ollama:llava:7b'] };
  it('goes to the vision task: the first model of it the bot may use', async () => {
    settings.tasks = [vision];
    const before = ollama.requestsTo('/api/chat').length;
    expect((await answer(bot({ model: 'ollama:qwen2.5:0.5b' }))).model).toBe('openai:cloud/gpt-4o');
    // A local-only bot skips the cloud model of the task.
    expect((await answer(bot({ model: 'ollama:qwen2.5:0.5b', localOnly: true }))).model).toBe('ollama:llava:7b');
    const models = ollama
      .requestsTo('/api/chat')
      .slice(before)
      .map((r) => r.body!.model);
    expect(models).toEqual(['llava:7b']);
  });
  it('with a sensitive request, only a local vision model', async () => {
    settings.tasks = [vision];
    const sensitive: ChatMessage[] = [{ ...withImage[0]!, content: 'my card 4111 1111 1111 1111, what is this?' }];
    expect((await answer(bot({ model: 'ollama:qwen2.5:0.5b' }), sensitive)).model).toBe('ollama:llava:7b');
  });
  it('refused in one line that names a configured model that can see, when the bot does not allow the task', async () => {
    settings.tasks = [vision];
    settings.bots = [bot({ id: 'pixel', displayName: 'Pixel', model: 'ollama:llava:7b' })];
    const before = ollama.requestsTo('/api/chat').length;
    const b = bot({ model: 'ollama:qwen2.5:0.5b', visionFallback: false });
    await expect(answer(b)).rejects.toThrow(
      "Bee's model (ollama:qwen2.5:0.5b) cannot see images; ask Pixel (ollama:llava:7b), whose model can.",
    );
    expect(await router.imageSupport(b)).toEqual({
      ok: false,
      notice: "Bee's model (ollama:qwen2.5:0.5b) cannot see images; ask Pixel (ollama:llava:7b), whose model can.",
    });
    expect(await router.imageSupport(bot({ model: 'ollama:qwen2.5:0.5b' }))).toEqual({
      ok: true,
      model: 'openai:cloud/gpt-4o',
    });
    expect(ollama.requestsTo('/api/chat').length).toBe(before);
  });
  it('with no vision model anywhere, the line says what to add', async () => {
    settings.tasks = [];
    settings.bots = [];
    settings.endpoints.openai = settings.endpoints.openai.map((e) => ({ ...e, vision: [] }));
    try {
      await expect(answer(bot({ model: 'ollama:qwen2.5:0.5b' }))).rejects.toThrow(
        /cannot see images; no configured model can: add one that sees images/,
      );
    } finally {
      settings.endpoints.openai[0]!.vision = ['gemma-vision'];
      settings.endpoints.openai[1]!.vision = ['*'];
    }
  });
});
