// A bot added later to an encrypted team room reads what was said before it joined: the bot already in the room
// invites it with the room's history keys (MSC4268 through matrix-js-sdk), the newcomer's join imports them, and
// its answer to a mention is built from that earlier, encrypted context.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, createClient, RoomEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { defaultSettings, type Settings } from '../../main/common/settings-schema.ts';
import { inviteLateBots } from '../../main/core/bots/bot-crypto-wiring.ts';
import { BotRunner, botCryptoSecrets } from '../../main/core/bots/bot-runner.ts';
import type { BotAccount, BotChatRequest, BotInference } from '../../main/core/bots/types.ts';
import { initBotCrypto, type BotCrypto } from '../../main/core/crypto/bot-crypto.ts';
import { recoveryCallbacks, setupOwnerRecovery } from '../../main/core/crypto/owner-recovery.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { createTeamRoomRequest } from '../../main/core/provisioning/room.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { startMatrixTarget, type MatrixTarget } from '../support/matrix-target.ts';
import { tinyModel } from '../support/models.ts';
import { quiet, waitFor } from './bots-harness.ts';

interface Seen { id: string; sender: string; content: Record<string, unknown>; failed: boolean }

let hs: MatrixTarget;
let dir: string;
let owner: MatrixClient;
let ownerCrypto: BotCrypto;
let backend: LlamaBackend;
let runner: BotRunner | undefined;
let roomId = '';
let settings: Settings;
let inference: BotInference;
let model = '';
const secrets = new MemorySecretStore();
const passwords = new Map<string, string>();
const seen: Seen[] = [];
/** What each bot asked the model: the context its reply was built from. */
const prompts: Array<{ bot: string; text: string }> = [];

/** Like waitFor, for probes that ask the server or the crypto store. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function register(name: string): Promise<{ userId: string; deviceId: string; accessToken: string }> {
  const password = `pw-${name}-0123456789`;
  passwords.set(name, password);
  return hs.register(name, password);
}

async function addBot(id: string): Promise<BotAccount> {
  const acc = await register(id);
  const displayName = id[0]!.toUpperCase() + id.slice(1);
  await createClient({ baseUrl: hs.url, ...acc, logger: quiet }).setDisplayName(displayName);
  await secrets.set(botCryptoSecrets(id).password, passwords.get(id)!);
  settings.bots.push({ id, displayName, model, systemPrompt: 'You are {display_name}.', temperature: 0.8, maxTokens: 40, localOnly: true, keepAliveSeconds: 300, pinned: false, fallback: [] });
  return { id, displayName, ...acc };
}

function startRunner(bots: BotAccount[]): Promise<void> {
  runner = new BotRunner({
    provision: { homeserverUrl: hs.url, serverName: hs.serverName, roomId, owner: { userId: owner.getUserId()! }, bots },
    getSettings: () => settings,
    inference,
    stateDir: join(dir, 'state'),
    promptTokens: 600,
    encryption: { secrets, flushDelayMs: 20 },
  });
  return runner.start(new AbortController().signal);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crypto-late-'));
  hs = await startMatrixTarget({ serverName: 'late.local' });
  model = `llama:${await tinyModel()}`;
  const base = defaultSettings();
  settings = { ...base, bots: [], guard: { ...base.guard, rateLimit: { maxRequests: 100, windowSeconds: 60 } } };
  backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 2, contextSize: 2048 });
  const router = new InferenceRouter({ backends: [backend], getSettings: () => settings });
  inference = {
    chat: (r: BotChatRequest) => {
      prompts.push({ bot: r.bot.id, text: r.messages.map((m) => m.content).join('\n') });
      return router.chat(r);
    },
    countTokens: (bot, text) => backend.countTokens(bot.model, text),
  };
  const ownerAcc = await register('owner');
  owner = createClient({ baseUrl: hs.url, ...ownerAcc, logger: quiet, cryptoCallbacks: recoveryCallbacks(secrets, 'crypto.owner.recoveryKey') });
  ownerCrypto = await initBotCrypto(owner, { storeDir: join(dir, 'owner-crypto'), secrets, secretPrefix: 'crypto.owner', password: passwords.get('owner'), flushDelayMs: 20 });
  owner.on(RoomEvent.Timeline, (e: MatrixEvent, _r, toStart) => {
    if (toStart || e.status !== null) return;
    void owner.decryptEventIfNeeded(e).then(() => seen.push({ id: e.getId()!, sender: e.getSender()!, content: e.getOriginalContent(), failed: e.isDecryptionFailure() }));
  });
  const ready = new Promise<void>((r) => owner.on(ClientEvent.Sync, (s) => s === 'PREPARED' && r()));
  await owner.startClient({ initialSyncLimit: 5, threadSupport: false, lazyLoadMembers: false });
  await ready;
  await setupOwnerRecovery(owner, { password: passwords.get('owner')!, secrets, secretName: 'crypto.owner.recoveryKey' });
}, 60_000);

afterAll(async () => {
  await runner?.stop(5000);
  owner?.stopClient();
  await ownerCrypto?.close();
  await backend?.close();
  await hs?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a bot added later to an encrypted team room', () => {
  it('is invited by a bot with the history keys, reads the earlier messages and answers from them', async () => {
    const alpha = await addBot('alpha');
    // The team room as provisioning makes it: encrypted, shared history, and bots allowed to invite.
    roomId = (await owner.createRoom(createTeamRoomRequest({ name: 'AI Team', topic: 't' }, owner.getUserId()!, [alpha.userId], { encrypted: true }))).room_id;
    await createClient({ baseUrl: hs.url, ...alpha, logger: quiet }).joinRoom(roomId);
    await startRunner([alpha]);
    await until("the owner's client to know alpha's device", async () => (await owner.getCrypto()!.getUserDeviceInfo([alpha.userId], true)).get(alpha.userId)?.has(alpha.deviceId) || undefined, 30_000);

    const secret = (await owner.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'For later: the code word is PINEAPPLE-42.' } as never)).event_id;
    const alphaConn = runner!.workers[0]!.conn;
    await until('alpha to read the earlier message', async () => (await alphaConn.fetchEvent(roomId, secret))?.content.body, 30_000);

    // Later the person adds beta: the runner restarts with both bots, and alpha invites beta.
    const beta = await addBot('beta');
    await runner!.stop(5000);
    await startRunner([alpha, beta]);
    const [alphaW, betaW] = runner!.workers;
    const outcome = await inviteLateBots([alphaW!.conn, betaW!.conn], roomId, [beta.userId], quiet as never);
    expect(outcome.get(beta.userId)).toBe('shared');
    await waitFor('beta to join on the invite', () => betaW!.conn.isJoined(roomId) || undefined, 30_000);
    // Beta's new device never received the room key for that message: it can read it only from the bundle.
    const read = await until('beta to read the message from before it joined', async () => (await betaW!.conn.fetchEvent(roomId, secret))?.content.body, 40_000);
    expect(read).toBe('For later: the code word is PINEAPPLE-42.');

    await until("the owner's client to know beta's device", async () => (await owner.getCrypto()!.getUserDeviceInfo([beta.userId], true)).get(beta.userId)?.has(beta.deviceId) || undefined, 30_000);
    const mention = (await owner.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'Beta: what was the code word?', 'm.mentions': { user_ids: [beta.userId] } } as never)).event_id;
    const reply = await waitFor('beta to answer', () => seen.find((e) => e.sender === beta.userId && (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']?.event_id === mention), 25_000);
    expect(reply.failed).toBe(false);
    const prompt = prompts.find((p) => p.bot === 'beta' && p.text.includes('what was the code word'));
    expect(prompt?.text).toContain('PINEAPPLE-42');
    // The earlier messages were readable on arrival: beta never said it could not read one.
    expect(seen.filter((e) => e.sender === beta.userId && e.content.msgtype === 'm.notice')).toEqual([]);
  }, 180_000);
});
