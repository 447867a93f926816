// Every Ollama endpoint in settings counts: `ollama@<id>:<tag>` goes to that endpoint (tags keep their slashes
// and colons), a bare `ollama:<tag>` to the first, and when the first is down a tag that another endpoint serves
// fails over to it. Two protocol-faithful Ollama servers stand in for two machines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings } from '../../main/common/settings-schema.ts';
import { OllamaBackend, parseOllamaRef, type OllamaEndpoint } from '../../main/core/inference/ollama/ollama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import type { ChatChunk } from '../../main/core/inference/types.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';

let first: OllamaTestServer;
let second: OllamaTestServer;
let endpoints: OllamaEndpoint[];
const HF_TAG = 'hf.co/user/repo:Q4_K_M';

beforeAll(async () => {
  first = await OllamaTestServer.start({ models: [fakeModel('shared:1b'), fakeModel('only-first:1b')] });
  second = await OllamaTestServer.start({ models: [fakeModel('shared:1b'), fakeModel(HF_TAG)] });
  endpoints = [
    { id: 'home', url: first.url },
    { id: 'gpu-box', url: second.url },
  ];
});
afterAll(async () => {
  await first.close();
  await second.close();
});

async function answer(backend: OllamaBackend, model: string): Promise<string> {
  const chunks: ChatChunk[] = [];
  for await (const c of backend.chat({ model, messages: [{ role: 'user', content: 'hi there' }] })) chunks.push(c);
  const done = chunks.at(-1);
  return done?.type === 'done' ? done.text : '';
}

const chats = (s: OllamaTestServer) => s.requestsTo('/api/chat').map((r) => r.body?.model);

describe('Ollama model references', () => {
  it.each([
    ['ollama:qwen2.5:0.5b', { tag: 'qwen2.5:0.5b' }],
    ['ollama:hf.co/user/repo:Q4_K_M', { tag: HF_TAG }],
    ['ollama@gpu-box:qwen2.5:7b', { endpointId: 'gpu-box', tag: 'qwen2.5:7b' }],
    ['ollama@gpu-box:hf.co/user/repo:Q4_K_M', { endpointId: 'gpu-box', tag: HF_TAG }],
  ])('%s', (ref, parsed) => expect(parseOllamaRef(ref)).toEqual(parsed));

  it.each(['ollama@:x', 'ollama@gpu-box', 'ollama@gpu-box:', 'ollama:'])(
    '%s is refused with the forms to use',
    (ref) => {
      expect(() => parseOllamaRef(ref)).toThrow(
        expect.objectContaining({ code: 'ModelNotFound', hint: expect.stringContaining('ollama@<endpoint id>:<tag>') }),
      );
    },
  );
});

describe('several Ollama endpoints', () => {
  it('sends a named endpoint’s requests there, tags with slashes and colons included, and a bare ref to the first', async () => {
    const backend = new OllamaBackend({ getEndpoints: () => endpoints });
    expect(await answer(backend, `ollama@gpu-box:${HF_TAG}`)).toBe('Echo: hi there');
    expect(chats(second)).toEqual([HF_TAG]);
    expect(await answer(backend, 'ollama@gpu-box:shared:1b')).toBe('Echo: hi there');
    expect(await answer(backend, 'ollama:shared:1b')).toBe('Echo: hi there');
    expect(chats(first)).toEqual(['shared:1b']);
    expect(chats(second)).toEqual([HF_TAG, 'shared:1b']);
    await expect(answer(backend, 'ollama@attic:shared:1b')).rejects.toMatchObject({
      code: 'BackendUnavailable',
      hint: expect.stringContaining('"attic"'),
    });
  });

  it('lists every endpoint’s models, the first’s as ollama:<tag> and the others’ by endpoint', async () => {
    const refs = (await new OllamaBackend({ getEndpoints: () => endpoints }).listModels()).map(
      (m) => `${m.ref} @ ${m.location}`,
    );
    expect(refs.sort()).toEqual(
      [
        `ollama:only-first:1b @ ${first.url}`,
        `ollama:shared:1b @ ${first.url}`,
        `ollama@gpu-box:${HF_TAG} @ ${second.url}`,
        `ollama@gpu-box:shared:1b @ ${second.url}`,
      ].sort(),
    );
  });

  it('fails over to an endpoint that serves the same tag when the first is down, and says so when none does', async () => {
    const gone = await OllamaTestServer.start();
    await gone.close();
    const backend = new OllamaBackend({ getEndpoints: () => [{ id: 'home', url: gone.url }, endpoints[1]!] });
    const before = chats(second).length;
    expect(await answer(backend, 'ollama:shared:1b')).toBe('Echo: hi there');
    expect(chats(second).slice(before)).toEqual(['shared:1b']);
    expect(backend.health()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'home', healthy: false }),
        expect.objectContaining({ id: 'gpu-box', healthy: true }),
      ]),
    );
    // only-first is not on the second server: it is not asked to chat, and the error names the endpoint that is down.
    await expect(answer(backend, 'ollama:only-first:1b')).rejects.toMatchObject({
      code: 'BackendUnavailable',
      message: expect.stringContaining(gone.url),
    });
    expect(chats(second).slice(before)).toEqual(['shared:1b']);
  });

  it('keeps a loopback endpoint’s failover on loopback, so a local-only bot stays local', async () => {
    const gone = await OllamaTestServer.start();
    await gone.close();
    const asked: string[] = [];
    const recording: typeof fetch = (input, init) => {
      asked.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    const lan: OllamaEndpoint = { id: 'lan', url: 'http://gpu-box.lan:11434' };
    const backend = new OllamaBackend({ getEndpoints: () => [{ id: 'home', url: gone.url }, lan], fetch: recording });
    expect(backend.isLocal('ollama:shared:1b')).toBe(true);
    expect(backend.isLocal('ollama@lan:shared:1b')).toBe(false);
    await expect(answer(backend, 'ollama:shared:1b')).rejects.toMatchObject({ code: 'BackendUnavailable' });
    expect(asked.some((u) => u.includes('gpu-box.lan'))).toBe(false);
  });

  it('sends num_ctx and budgets prompts from it, capped by the model’s trained context', async () => {
    const backend = new OllamaBackend({
      getEndpoints: () => [endpoints[0]!, { ...endpoints[1]!, contextTokens: 2048 }],
    });
    await answer(backend, 'ollama:shared:1b');
    expect(first.requestsTo('/api/chat').at(-1)?.body).toMatchObject({ options: { num_ctx: 8192 } });
    await answer(backend, 'ollama@gpu-box:shared:1b');
    expect(second.requestsTo('/api/chat').at(-1)?.body).toMatchObject({ options: { num_ctx: 2048 } });
    const router = new InferenceRouter({ backends: [backend], getSettings: defaultSettings });
    // The test server's models say llama.context_length 4096 in /api/show, as a real one does.
    expect(await router.contextTokens('ollama:shared:1b')).toBe(4096);
    expect(await router.contextTokens('ollama@gpu-box:shared:1b')).toBe(2048);
    const budget = await router.promptBudget(
      botSchema.parse({ id: 'q', displayName: 'Q', model: 'ollama:shared:1b', maxTokens: 2048 }),
    );
    expect(budget).toMatchObject({ model: 'ollama:shared:1b', contextTokens: 4096, answerTokens: 1024 });
    expect(budget.promptTokens).toBe(4096 - 1024 - budget.templateTokens);
  });
});
