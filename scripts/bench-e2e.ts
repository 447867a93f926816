// End-to-end benchmark of the bot runner: a separate Matrix client (its own login) sends mentions and
// watches the bot's reply arrive, compared in the same run with the raw backend's first token and speed.
// Usage: npm run bench:e2e -- --model FILE [--runs 8] [--max-tokens 200] [--threads 1]
// Last line: overhead_ms_p50: X ratio: Y   (X = client first visible token − raw first token, p50;
// Y = tokens/s the client sees ÷ raw tokens/s, p50).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClientEvent, createClient, RoomEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import { defaultSettings, type Settings } from '../main/common/settings-schema.ts';
import { BotRunner } from '../main/core/bots/bot-runner.ts';
import { LlamaBackend } from '../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../main/core/inference/router.ts';
import { startHomeserver } from '../test/support/homeserver/index.ts';

(sdkGlobalLogger as unknown as { setLevel(level: string): void }).setLevel('error');
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild() { return quiet; } };

const { values } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string', default: '8' }, 'max-tokens': { type: 'string', default: '200' }, threads: { type: 'string', default: '1' } } });
if (!values.model) {
  console.error('Usage: npm run bench:e2e -- --model FILE.gguf [--runs 8] [--max-tokens 200] [--threads 1]');
  process.exit(2);
}
const modelRef = `llama:${resolve(values.model)}`;
const runs = Number(values.runs);
const maxTokens = Number(values['max-tokens']);
const threads = Number(values.threads);
const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const fmt = (n: number): string => n.toFixed(1);

const hs = await startHomeserver({ serverName: 'bench.local' });
async function account(username: string): Promise<{ userId: string; deviceId: string; accessToken: string }> {
  const res = await createClient({ baseUrl: hs.url, logger: quiet }).registerRequest({ username, password: `pw-${username}`, auth: { type: 'm.login.dummy' } });
  return { userId: res.user_id, deviceId: res.device_id!, accessToken: res.access_token! };
}
const bot = { id: 'bench', displayName: 'Bench', ...(await account('bench')) };
await account('person');
// The observer logs in by password: its own session, like Element on another machine would have.
const login = await createClient({ baseUrl: hs.url, logger: quiet }).loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'person' }, password: 'pw-person' });
const person: MatrixClient = createClient({ baseUrl: hs.url, userId: login.user_id, deviceId: login.device_id, accessToken: login.access_token, logger: quiet });
const { room_id: roomId } = await person.createRoom({ name: 'bench', invite: [bot.userId] });
await createClient({ baseUrl: hs.url, ...bot, logger: quiet }).joinRoom(roomId);

const settings: Settings = { ...defaultSettings(), bots: [{ id: 'bench', displayName: 'Bench', model: modelRef, systemPrompt: 'You are {display_name}.', temperature: 0.7, maxTokens, localOnly: true, keepAliveSeconds: 600, pinned: false, fallback: [] }] };
settings.guard = { ...settings.guard, rateLimit: { maxRequests: 1000, windowSeconds: 60 } };
const backend = new LlamaBackend({ threads, gpu: false, sequences: 2, contextSize: 2048 });
const router = new InferenceRouter({ backends: [backend], getSettings: () => settings });
const stateDir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
const runner = new BotRunner({
  provision: { homeserverUrl: hs.url, serverName: 'bench.local', roomId, owner: { userId: login.user_id }, bots: [bot] },
  getSettings: () => settings,
  inference: { chat: (r) => router.chat(r), countTokens: (b, t) => backend.countTokens(b.model, t) },
  stateDir,
  promptTokens: 1024,
});

// Raw backend: same prompt shape, same sampling.
const raw = { ttft: [] as number[], tps: [] as number[] };
await backend.ensureModel(modelRef);
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  let first = 0;
  let tokens = 0;
  for await (const c of backend.chat({ model: modelRef, messages: [{ role: 'system', content: 'You are Bench.' }, { role: 'user', content: `Person: @bench question ${i}` }], sampling: { maxTokens, temperature: 0.7 } })) {
    if (c.type === 'text') {
      if (!first) first = performance.now();
      tokens += c.tokens;
    }
  }
  const end = performance.now();
  raw.ttft.push(first - t0);
  raw.tps.push(tokens / ((end - first) / 1000));
}

const seen = new Map<string, { first?: number; final?: number; edits: number; text?: string }>();
person.on(RoomEvent.Timeline, (e: MatrixEvent, _room, toStart) => {
  if (toStart || e.getSender() !== bot.userId) return;
  const content = e.getContent();
  const rel = content['m.relates_to'] as { rel_type?: string; event_id?: string; 'm.in_reply_to'?: { event_id?: string } } | undefined;
  if (rel?.rel_type === 'm.replace') {
    const entry = [...seen.values()].find((s) => (s as { replyId?: string }).replyId === rel.event_id);
    if (!entry) return;
    entry.edits++;
    if (content['org.agentroom.final'] === true) {
      entry.final = performance.now();
      entry.text = (content['m.new_content'] as { body: string }).body;
    }
  } else if (rel?.['m.in_reply_to']?.event_id) {
    const entry = seen.get(rel['m.in_reply_to'].event_id);
    if (entry && entry.first === undefined) Object.assign(entry, { first: performance.now(), replyId: e.getId() });
  }
});
const ready = new Promise<void>((r) => person.on(ClientEvent.Sync, (s) => s === 'PREPARED' && r()));
await person.startClient({ initialSyncLimit: 1, threadSupport: false });
await ready;
await runner.start(new AbortController().signal);

const e2e = { ttfv: [] as number[], total: [] as number[], tps: [] as number[], edits: [] as number[] };
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const { event_id: id } = await person.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: `@bench question ${i}` } as never);
  const entry = seen.get(id) ?? { edits: 0 };
  seen.set(id, entry);
  const deadline = Date.now() + 120_000;
  while (entry.final === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  if (entry.final === undefined || entry.first === undefined) throw new Error(`no complete reply to mention ${i} within 120 s`);
  const tokens = await backend.countTokens(modelRef, entry.text ?? '');
  e2e.ttfv.push(entry.first - t0);
  e2e.total.push(entry.final - t0);
  e2e.tps.push(tokens / ((entry.final - entry.first) / 1000));
  e2e.edits.push(entry.edits);
  // Leave the room's hourly budget and the next mention's context small and comparable.
  await person.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: '!reset' } as never);
  await new Promise((r) => setTimeout(r, 300));
}

await runner.stop(5000);
person.stopClient();
await backend.close();
await hs.close();
rmSync(stateDir, { recursive: true, force: true });

console.log(`model: ${values.model}  runs: ${runs}  max tokens: ${maxTokens}  threads: ${threads}`);
console.log(`raw backend     first token p50 ${fmt(p50(raw.ttft))} ms   ${fmt(p50(raw.tps))} tok/s`);
console.log(`client (Matrix) first visible p50 ${fmt(p50(e2e.ttfv))} ms   complete p50 ${fmt(p50(e2e.total))} ms   ${fmt(p50(e2e.tps))} tok/s seen   edits/reply p50 ${p50(e2e.edits)}`);
console.log(`overhead_ms_p50: ${fmt(p50(e2e.ttfv) - p50(raw.ttft))} ratio: ${(p50(e2e.tps) / p50(raw.tps)).toFixed(3)}`);
process.exit(0);
