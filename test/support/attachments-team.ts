// A team for the attachment tests: the bots harness's homeserver, owner and room (the test homeserver, or a real one
// through AGENT_ROOM_TEST_HOMESERVER_URL), with bots on the recording test servers instead of node-llama-cpp: Pixel on
// an Ollama vision model, Echo on an Ollama model that cannot see (and may not use the vision task), Lens on an
// OpenAI-compatible vision model (as llama.cpp's server with a projector). The servers echo the person's message, so
// an answer shows what the model read. Every media request the bots make is recorded.
import type { MatrixClient } from 'matrix-js-sdk';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { BotInference, RawEvent } from '../../main/core/bots/types.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { encryptAttachment } from '../../main/core/attachments/media-crypto.ts';
import { makeTeam, runner, type Team } from './bots-harness.ts';
import { outcomes, type MentionOutcome, type TimelineEvent } from './faults/replies.ts';
import { fakeModel, OllamaTestServer } from './ollama-server.ts';
import { OpenAITestServer } from './openai-server.ts';

export interface AttachmentsTeam {
  team: Team;
  ollama: OllamaTestServer;
  openai: OpenAITestServer;
  runner: BotRunner;
  router: InferenceRouter;
  /** URLs of the media requests the bots made. */
  media: string[];
  userId(bot: 'pixel' | 'echo' | 'lens'): string;
  close(): Promise<void>;
}

/** The runner's inference over a router, as the bots service adapts it. */
export function routerInference(router: InferenceRouter): BotInference {
  return {
    chat: (r) => router.chat(r),
    countTokens: (bot, text) => router.countTokens(bot.model, text),
    promptBudget: (bot, signal, question) =>
      router.promptBudget(bot, { ...(signal ? { signal } : {}), ...(question ? { prompt: question } : {}) }),
    imageSupport: (bot, signal) => router.imageSupport(bot, signal),
  };
}

/** The test servers the attachment tests answer with, and the settings that point the bots at them. */
export async function visionServers(): Promise<{ ollama: OllamaTestServer; openai: OpenAITestServer }> {
  const ollama = await OllamaTestServer.start({
    models: [{ ...fakeModel('llava:7b'), vision: true }, fakeModel('qwen2.5:0.5b')],
  });
  const openai = await OpenAITestServer.start({ models: ['gemma-vision'], visionModels: ['gemma-vision'] });
  return { ollama, openai };
}

export function visionSettings(
  team: Pick<Team, 'settings'>,
  servers: { ollama: OllamaTestServer; openai: OpenAITestServer },
) {
  const s = team.settings;
  s.endpoints = {
    ollama: [{ id: 'local', url: servers.ollama.url, contextTokens: 4096 }],
    openai: [
      {
        id: 'llamacpp',
        url: servers.openai.url,
        requestsPerMinute: 1000,
        timeoutMs: 10_000,
        failover: [],
        prices: {},
        contextTokens: 4096,
        vision: ['gemma-vision'],
      },
    ],
  };
  const models: Record<string, string> = {
    pixel: 'ollama:llava:7b',
    echo: 'ollama:qwen2.5:0.5b',
    lens: 'openai:llamacpp/gemma-vision',
  };
  s.bots = s.bots.map((b) => ({
    ...b,
    model: models[b.id] ?? b.model,
    ...(b.id === 'echo' ? { visionFallback: false } : {}),
  }));
  s.attachments = { ...s.attachments, maxImageSide: 800 };
}

export function visionRouter(team: Pick<Team, 'settings'>): InferenceRouter {
  return new InferenceRouter({
    backends: [
      new OllamaBackend({ getEndpoints: () => team.settings.endpoints.ollama }),
      new OpenAIBackend({ getEndpoints: () => team.settings.endpoints.openai }),
    ],
    getSettings: () => team.settings,
  });
}

export async function startAttachmentsTeam(): Promise<AttachmentsTeam> {
  const team = await makeTeam(['pixel', 'echo', 'lens'], { rateLimit: { maxRequests: 1000, windowSeconds: 60 } });
  const servers = await visionServers();
  visionSettings(team, servers);
  const media: string[] = [];
  const fetchFn: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.includes('/media/')) media.push(url);
    return fetch(input, init);
  };
  const router = visionRouter(team);
  const r = runner(team, { inference: routerInference(router), fetchFn, promptTokens: 3000 });
  await r.start(AbortSignal.timeout(20_000));
  const bots = new Map(team.provision.bots.map((b) => [b.id, b.userId]));
  return {
    team,
    ...servers,
    runner: r,
    router,
    media,
    userId: (bot) => bots.get(bot)!,
    async close() {
      await r.stop(5000);
      await team.close();
      await Promise.all([servers.ollama.close(), servers.openai.close()]);
    },
  };
}

/** Uploads the bytes as the owner (encrypted first when `encrypt`); the content of an m.image/m.file event for them. */
export async function attachmentContent(
  owner: MatrixClient,
  bytes: Uint8Array,
  o: {
    kind: 'image' | 'file';
    filename: string;
    mimetype: string;
    caption?: string;
    encrypt?: boolean;
    /** A size to declare instead of the real one. */
    declaredSize?: number;
  },
): Promise<Record<string, unknown>> {
  const enc = o.encrypt ? await encryptAttachment(bytes) : undefined;
  const upload = await owner.uploadContent(Buffer.from(enc ? enc.cipher : bytes), {
    name: o.filename,
    type: enc ? 'application/octet-stream' : o.mimetype,
  });
  const where = enc ? { file: { ...enc.file, url: upload.content_uri } } : { url: upload.content_uri };
  return {
    msgtype: o.kind === 'image' ? 'm.image' : 'm.file',
    body: o.caption ?? o.filename,
    filename: o.filename,
    info: { mimetype: o.mimetype, size: o.declaredSize ?? bytes.length },
    ...where,
  };
}

/** What the bot gave the mention: its replies and notices, from the owner's view of the room. */
export function outcomeOf(seen: readonly RawEvent[], mentionId: string, botUserId: string): MentionOutcome {
  return outcomes(seen as TimelineEvent[], [mentionId], botUserId)[0]!;
}
