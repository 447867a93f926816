// Shared setup for the bot runner's integration tests: the test homeserver, an owner and bot accounts
// registered on it, a team room, real node-llama-cpp inference on the generated tiny model, and a runner.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientEvent, createClient, RoomEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import pino from 'pino';
import { defaultSettings, type Settings } from '../../main/common/settings-schema.ts';
import { BotRunner, type BotRunnerOptions } from '../../main/core/bots/bot-runner.ts';
import type { BotAccount, BotInference, ProvisionLike, RawEvent } from '../../main/core/bots/types.ts';
import type { Logger } from '../../main/core/logging/logger.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { startMatrixTarget, type MatrixTarget } from './matrix-target.ts';
import { tinyModel } from './models.ts';

(sdkGlobalLogger as unknown as { setLevel(level: string): void }).setLevel('error');
export const quiet = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  getChild() {
    return quiet;
  },
};

export interface Team {
  hs: MatrixTarget;
  provision: ProvisionLike;
  owner: MatrixClient;
  settings: Settings;
  backend: LlamaBackend;
  inference: BotInference;
  stateDir: string;
  /** Every event the owner's client saw, in order. */
  seen: RawEvent[];
  /** Text a bot's model output starts with (to make bots mention each other); by bot id. */
  prefixes: Map<string, string>;
  /** A pause after each generated chunk (ms): the tiny model writes 400 tokens in a fifth of a second, faster than
   * a real homeserver takes one send, so a test that must see a reply grow slows it down. */
  pace: { chunkDelayMs: number };
  close(): Promise<void>;
}

const register = (hs: MatrixTarget, username: string) => hs.register(username, `pw-${username}-0123456789`);

export async function makeTeam(
  botNames: string[],
  guard: Partial<Settings['guard']> = {},
  maxTokens = 400,
): Promise<Team> {
  const hs = await startMatrixTarget({ serverName: 'bots.local' });
  const model = `llama:${await tinyModel()}`;
  const ownerAcc = await register(hs, 'owner');
  const owner = createClient({ baseUrl: hs.url, ...ownerAcc, logger: quiet });
  const bots: BotAccount[] = [];
  for (const name of botNames) {
    const acc = await register(hs, name);
    const bc = createClient({ baseUrl: hs.url, ...acc, logger: quiet });
    const displayName = name[0]!.toUpperCase() + name.slice(1);
    await bc.setDisplayName(displayName);
    bots.push({ id: name, displayName, ...acc });
  }
  const { room_id: roomId } = await owner.createRoom({
    name: 'AI Team',
    preset: 'private_chat' as never,
    invite: bots.map((b) => b.userId),
  });
  for (const b of bots) await createClient({ baseUrl: hs.url, ...b, logger: quiet }).joinRoom(roomId);
  const seen: RawEvent[] = [];
  owner.on(RoomEvent.Timeline, (e: MatrixEvent, _r, toStart) => {
    if (!toStart && e.status === null) seen.push(structuredClone(e.event) as RawEvent);
  });
  const ready = new Promise<void>((r) => owner.on(ClientEvent.Sync, (s) => s === 'PREPARED' && r()));
  await owner.startClient({ initialSyncLimit: 5, threadSupport: false });
  await ready;
  const base = defaultSettings();
  const settings: Settings = {
    ...base,
    bots: bots.map((b) => ({
      id: b.id,
      displayName: b.displayName,
      model,
      systemPrompt: 'You are {display_name}.',
      temperature: 0.8,
      maxTokens,
      localOnly: true,
      keepAliveSeconds: 300,
      pinned: false,
      fallback: [],
    })),
    guard: { ...base.guard, ...guard },
  };
  const backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 2, contextSize: 2048 });
  const router = new InferenceRouter({ backends: [backend], getSettings: () => settings });
  const prefixes = new Map<string, string>();
  const pace = { chunkDelayMs: 0 };
  const inference: BotInference = {
    async *chat(r) {
      const prefix = prefixes.get(r.bot.id) ?? '';
      if (prefix) yield { type: 'text', text: prefix, tokens: 1 };
      for await (const c of router.chat(r)) {
        if (pace.chunkDelayMs > 0 && c.type === 'text') await new Promise((res) => setTimeout(res, pace.chunkDelayMs));
        yield c.type === 'done' ? { ...c, text: prefix + c.text } : c;
      }
    },
    countTokens: (bot, text) => backend.countTokens(bot.model, text),
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'bots-state-'));
  return {
    hs,
    provision: { homeserverUrl: hs.url, serverName: hs.serverName, roomId, owner: ownerAcc, bots },
    owner,
    settings,
    backend,
    inference,
    stateDir,
    seen,
    prefixes,
    pace,
    async close() {
      owner.stopClient();
      await backend.close();
      await hs.close();
    },
  };
}

export function runner(team: Team, over: Partial<BotRunnerOptions> = {}): BotRunner {
  return new BotRunner({
    provision: team.provision,
    getSettings: () => team.settings,
    inference: team.inference,
    stateDir: team.stateDir,
    promptTokens: 400,
    ...over,
  });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Nothing queued or running for any bot: every reply the runner had taken on has ended. */
export const idle = (r: BotRunner): boolean => r.status().bots.every((b) => b.queued === 0 && b.running === 0);

export const waitIdle = (r: BotRunner, timeoutMs?: number): Promise<true> =>
  waitFor('the bots to be idle', () => idle(r), timeoutMs);

/** One "mention …" line of the runner's log: how a mention ended for a bot (answered, failed, stopped, refused). */
export interface MentionLog {
  bot: string;
  event: string;
  outcome: 'answered' | 'failed' | 'stopped' | 'refused';
  reason?: string;
}

/** A logger for the runner that keeps every "mention …" outcome it logs, in order. */
export function mentionLog(): {
  logger: Logger;
  entries: MentionLog[];
  of(event: string, bot: string): MentionLog | undefined;
} {
  const entries: MentionLog[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        const rec = JSON.parse(line) as Partial<MentionLog> & { msg?: string };
        if (rec.msg?.startsWith('mention ') && rec.bot && rec.event && rec.outcome)
          entries.push({
            bot: rec.bot,
            event: rec.event,
            outcome: rec.outcome,
            ...(rec.reason ? { reason: rec.reason } : {}),
          });
      },
    },
  );
  return { logger, entries, of: (event, bot) => entries.find((e) => e.event === event && e.bot === bot) };
}

/** Messages (not edits) the given bot sent, in order. */
export const repliesFrom = (team: Team, userId: string): RawEvent[] =>
  team.seen.filter(
    (e) =>
      e.sender === userId &&
      e.type === 'm.room.message' &&
      (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type !== 'm.replace',
  );

export const editsOf = (team: Team, replyId: string): RawEvent[] =>
  team.seen.filter(
    (e) =>
      (e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined)?.rel_type === 'm.replace' &&
      (e.content['m.relates_to'] as { event_id?: string }).event_id === replyId,
  );

export const finalEdit = (team: Team, replyId: string): RawEvent | undefined =>
  editsOf(team, replyId).find((e) => e.content['org.agentroom.final'] === true);

export async function say(team: Team, content: Record<string, unknown>): Promise<string> {
  const res = await team.owner.sendEvent(team.provision.roomId, 'm.room.message' as never, content as never);
  return res.event_id;
}
