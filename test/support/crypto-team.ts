// Shared setup of the encrypted-team tests: a homeserver (the test one, or a real one), the owner's device with
// Rust crypto and a recovery key (startCryptoDevice) whose client records every event it sees, decrypted, bot
// accounts whose passwords sit in the secret store as the app keeps them, real inference on the tiny model, and a
// bot runner with encryption on.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, RoomEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { defaultSettings, type Settings } from '../../main/common/settings-schema.ts';
import { BotRunner, botCryptoSecrets, type BotRunnerOptions } from '../../main/core/bots/bot-runner.ts';
import type { BotAccount, BotChatRequest, BotInference } from '../../main/core/bots/types.ts';
import { setupOwnerRecovery } from '../../main/core/crypto/owner-recovery.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { startCryptoDevice, type CryptoDevice } from './crypto-device.ts';
import { startMatrixTarget, type MatrixTarget } from './matrix-target.ts';
import { tinyModel } from './models.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild: () => quiet };

/** An event as the owner's client saw it, decrypted when it could be. */
export interface SeenEvent {
  id: string;
  sender: string;
  /** m.room.encrypted when it travelled encrypted. */
  wireType: string;
  content: Record<string, unknown>;
  failed: boolean;
}

export type Session = { userId: string; deviceId: string; accessToken: string };

export interface CryptoTeam {
  hs: MatrixTarget;
  /** Holds the owner's store, the runner's state (state/) and the bots' crypto stores (state/crypto/<id>). */
  dir: string;
  secrets: MemorySecretStore;
  /** Account passwords by name (localpart without the run's suffix). */
  passwords: Map<string, string>;
  /** The owner's device: its client has cross-signing and key backup set up with the recovery key. */
  ownerDevice: CryptoDevice;
  owner: MatrixClient;
  /** Every event the owner's client saw, decrypted, in the order decrypted. */
  seen: SeenEvent[];
  settings: Settings;
  backend: LlamaBackend;
  /** The model every bot uses (the tiny one, on node-llama-cpp). */
  model: string;
  /** What each bot asked the model: the context its reply was built from. */
  prompts: Array<{ bot: string; text: string }>;
  inference: BotInference;
  runner: BotRunner | undefined;
  register(name: string): Promise<Session>;
  /** Registers a bot with its display name and its password in the secret store; adds it to the settings. */
  addBot(id: string, maxTokens: number): Promise<BotAccount>;
  /** Starts a runner on the team's state with encryption on (the previous one must be stopped). */
  startRunner(roomId: string, bots: BotAccount[], over?: Partial<BotRunnerOptions>): Promise<BotRunner>;
  /** Waits until the owner's client knows these bots' current devices (a person types seconds after the bots start). */
  ownerKnowsDevices(bots: BotAccount[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCryptoTeam(o: {
  serverName: string;
  dirPrefix: string;
  guard?: Partial<Settings['guard']>;
  /** The bots' inference instead of node-llama-cpp on the tiny model (prompts are still recorded). */
  makeInference?: (settings: Settings) => BotInference;
}): Promise<CryptoTeam> {
  const dir = await mkdtemp(join(tmpdir(), o.dirPrefix));
  const hs = await startMatrixTarget({ serverName: o.serverName });
  const model = `llama:${await tinyModel()}`;
  const secrets = new MemorySecretStore();
  const passwords = new Map<string, string>();
  const register = (name: string): Promise<Session> => {
    const password = `pw-${name}-0123456789`;
    passwords.set(name, password);
    return hs.register(name, password);
  };
  const base = defaultSettings();
  const settings: Settings = {
    ...base,
    bots: [],
    guard: { ...base.guard, rateLimit: { maxRequests: 100, windowSeconds: 60 }, ...o.guard },
  };
  const backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 2, contextSize: 2048 });
  const router = new InferenceRouter({ backends: [backend], getSettings: () => settings });
  const prompts: CryptoTeam['prompts'] = [];
  const inner: BotInference = o.makeInference?.(settings) ?? {
    chat: (r) => router.chat(r),
    countTokens: (bot, text) => backend.countTokens(bot.model, text),
  };
  const inference: BotInference = {
    ...inner,
    chat: (r: BotChatRequest) => {
      prompts.push({ bot: r.bot.id, text: r.messages.map((m) => m.content).join('\n') });
      return inner.chat(r);
    },
  };

  const seen: SeenEvent[] = [];
  const ownerDevice = await startCryptoDevice({
    baseUrl: hs.url,
    session: await register('owner'),
    secrets,
    recoverySecret: 'crypto.owner.recoveryKey',
    dir,
    password: passwords.get('owner')!,
    storeName: 'owner-crypto',
    secretPrefix: 'crypto.owner',
    startOptions: { initialSyncLimit: 5, threadSupport: false, lazyLoadMembers: false },
    beforeStart: (owner) =>
      owner.on(RoomEvent.Timeline, (e: MatrixEvent, _r, toStart) => {
        if (toStart || e.status !== null) return;
        void owner.decryptEventIfNeeded(e).then(() =>
          seen.push({
            id: e.getId()!,
            sender: e.getSender()!,
            wireType: e.getWireType(),
            content: e.getOriginalContent(),
            failed: e.isDecryptionFailure(),
          }),
        );
      }),
  });
  const owner = ownerDevice.client;
  await setupOwnerRecovery(owner, {
    password: passwords.get('owner')!,
    secrets,
    secretName: 'crypto.owner.recoveryKey',
  });

  const team: CryptoTeam = {
    hs,
    dir,
    secrets,
    passwords,
    ownerDevice,
    owner,
    seen,
    settings,
    backend,
    model,
    prompts,
    inference,
    runner: undefined,
    register,
    async addBot(id, maxTokens) {
      const acc = await register(id);
      const displayName = id[0]!.toUpperCase() + id.slice(1);
      await createClient({ baseUrl: hs.url, ...acc, logger: quiet }).setDisplayName(displayName);
      await secrets.set(botCryptoSecrets(id).password, passwords.get(id)!);
      settings.bots.push({
        id,
        displayName,
        model,
        systemPrompt: 'You are {display_name}.',
        temperature: 0.8,
        maxTokens,
        localOnly: true,
        keepAliveSeconds: 300,
        pinned: false,
        fallback: [],
      });
      return { id, displayName, ...acc };
    },
    async startRunner(roomId, bots, over = {}) {
      const runner = new BotRunner({
        provision: {
          homeserverUrl: hs.url,
          serverName: hs.serverName,
          roomId,
          owner: { userId: owner.getUserId()! },
          bots,
        },
        getSettings: () => settings,
        inference,
        stateDir: join(dir, 'state'),
        promptTokens: 400,
        encryption: { secrets, flushDelayMs: 20 },
        ...over,
      });
      team.runner = runner;
      await runner.start(new AbortController().signal);
      return runner;
    },
    async ownerKnowsDevices(bots, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const info = await owner.getCrypto()!.getUserDeviceInfo(
          bots.map((b) => b.userId),
          true,
        );
        if (bots.every((b) => info.get(b.userId)?.has(b.deviceId))) return;
        if (Date.now() > end)
          throw new Error(`the owner's client never learnt the devices of ${bots.map((b) => b.id).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await team.runner?.stop(5000);
      await ownerDevice.stop();
      await backend.close();
      await hs.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return team;
}
