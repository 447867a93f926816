// End-to-end benchmark of the bot runner: a separate Matrix client (its own login) sends mentions and
// watches the bot's reply arrive, compared in the same run with the raw backend's first token and speed.
// Usage: npm run bench:e2e -- --model FILE [--runs 8] [--max-tokens 200] [--threads 1]
//          [--homeserver-url URL --registration-token T] [--profile]
// Per run: delivery (send → the mention in another client's sync), send → inference request, first visible
// token, and the final text visible to another client after generation ended. --profile adds the bot's steps.
// Last lines:
//   final_after_generation_ms_p50: X    (end of generation → final text visible to another client)
//   send_to_inference_ms_p50: X delivery_ms_p50: Y routing_ms_p50: Z   (send → the bot's inference request;
//     send → the mention in another client's sync; the bot's own sync → its inference request)
//   overhead_ms_p50: X ratio: Y   (X = client first visible token − raw first token, p50;
//                                  Y = tokens/s the client sees ÷ raw tokens/s, p50)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MatrixClient, MatrixEvent } from 'matrix-js-sdk';
import type { Settings } from '../main/common/settings-schema.ts';
import type { BotInference, RawEvent } from '../main/core/bots/types.ts';

const { ClientEvent, createClient, RoomEvent } = await import('matrix-js-sdk');
const { logger: sdkGlobalLogger } = await import('matrix-js-sdk/lib/logger.js');
const { defaultSettings } = await import('../main/common/settings-schema.ts');
const { BotConnection } = await import('../main/core/bots/bot-client.ts');
const { BotRunner } = await import('../main/core/bots/bot-runner.ts');
const { LlamaBackend } = await import('../main/core/inference/llama/llama-backend.ts');
const { InferenceRouter } = await import('../main/core/inference/router.ts');
const { startHomeserver } = await import('../test/support/homeserver/index.ts');

(sdkGlobalLogger as unknown as { setLevel(level: string): void }).setLevel('error');
const quiet = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  getChild() {
    return quiet;
  },
};

const usage =
  'Usage: npm run bench:e2e -- --model FILE.gguf [--runs 8] [--max-tokens 200] [--threads 1] [--homeserver-url URL --registration-token T] [--profile]';
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    runs: { type: 'string', default: '8' },
    'max-tokens': { type: 'string', default: '200' },
    threads: { type: 'string', default: '1' },
    'homeserver-url': { type: 'string' },
    'registration-token': { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
if (!values.model) {
  console.error(usage);
  process.exit(2);
}
const external = values['homeserver-url']?.replace(/\/+$/, '');
if (external && !values['registration-token']) {
  console.error('--homeserver-url needs --registration-token (the bench registers its accounts with it)');
  process.exit(2);
}
const modelRef = `llama:${resolve(values.model)}`;
const runs = Number(values.runs);
const maxTokens = Number(values['max-tokens']);
const threads = Number(values.threads);
const profile = values.profile;
const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const fmt = (n: number): string => n.toFixed(1);

// The homeserver: the built-in test one, or a real one (accounts get a per-run suffix there: they outlive the run).
const hs = external ? undefined : await startHomeserver({ serverName: 'bench.local' });
const baseUrl = external ?? hs!.url;
const suffix = external ? `b${Date.now().toString(36)}` : '';
async function account(
  localpart: string,
): Promise<{ userId: string; deviceId: string; accessToken: string; password: string }> {
  const client = createClient({ baseUrl, logger: quiet });
  const username = `${localpart}${suffix}`;
  const password = `pw-${username}-0123456789`;
  let auth: Record<string, unknown> = { type: 'm.login.dummy' };
  // User-interactive auth: follow the server's flow (registration token, then dummy, on Synapse).
  for (let step = 0; step < 4; step++) {
    try {
      const res = await client.registerRequest({ username, password, auth: auth as never });
      return { userId: res.user_id, deviceId: res.device_id!, accessToken: res.access_token!, password };
    } catch (err) {
      const data = (err as { data?: { session?: string; flows?: Array<{ stages: string[] }>; completed?: string[] } })
        .data;
      const done = new Set(data?.completed ?? []);
      const next = data?.flows?.[0]?.stages.find((s) => !done.has(s));
      if (!next) throw err;
      auth = {
        type: next,
        session: data?.session,
        ...(next === 'm.login.registration_token' ? { token: values['registration-token'] } : {}),
      };
    }
  }
  throw new Error(`registering ${username} did not finish`);
}
const botAcc = await account('bench');
const bot = {
  id: 'bench',
  displayName: 'Bench',
  userId: botAcc.userId,
  deviceId: botAcc.deviceId,
  accessToken: botAcc.accessToken,
};
const personAcc = await account('person');
const serverName = personAcc.userId.slice(personAcc.userId.indexOf(':') + 1);
// The observers log in by password: their own sessions, like Element on other machines would have. `person`
// sends and watches the replies; `watcher` (a second session) times the homeserver's delivery of each mention.
async function session(): Promise<MatrixClient> {
  const login = await createClient({ baseUrl, logger: quiet }).loginRequest({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: personAcc.userId },
    password: personAcc.password,
  });
  return createClient({
    baseUrl,
    userId: login.user_id,
    deviceId: login.device_id,
    accessToken: login.access_token,
    logger: quiet,
  });
}
const person = await session();
const watcher = await session();
const { room_id: roomId } = await person.createRoom({ name: 'bench', invite: [bot.userId] });
await createClient({ baseUrl, ...bot, logger: quiet }).joinRoom(roomId);

// What the bot did for the mention being answered, on this process's clock (performance.now()).
interface Run {
  inference?: number;
  generated?: number;
  steps: Array<{ what: string; start: number; end?: number }>;
}
let current: Run | undefined;
// Every listener records by event id: a sync may deliver an event before its send has returned its id.
const deliveredAt = new Map<string, number>();
const botSyncedAt = new Map<string, number>();
const replies = new Map<string, { first: number; replyId: string; edits: number; final?: number; text?: string }>();
const step = <T>(what: string, p: Promise<T>): Promise<T> => {
  const s = current ? ({ what, start: performance.now() } as Run['steps'][number]) : undefined;
  if (s) current!.steps.push(s);
  return s ? p.finally(() => (s.end = performance.now())) : p;
};

const settings: Settings = {
  ...defaultSettings(),
  bots: [
    {
      id: 'bench',
      displayName: 'Bench',
      model: modelRef,
      systemPrompt: 'You are {display_name}.',
      temperature: 0.7,
      maxTokens,
      localOnly: true,
      keepAliveSeconds: 600,
      pinned: false,
      fallback: [],
    },
  ],
};
settings.guard = { ...settings.guard, rateLimit: { maxRequests: 1000, windowSeconds: 60 } };
const backend = new LlamaBackend({ threads, gpu: false, sequences: 2, contextSize: 2048 });
const router = new InferenceRouter({ backends: [backend], getSettings: () => settings });
// As the app wires it (bots-service.ts), with the moments the bench reads: the request, and the end of generation.
const inference: BotInference = {
  async *chat(r) {
    const run = current;
    if (run) run.inference = performance.now();
    for await (const c of router.chat(r)) {
      if (c.type === 'done' && run) run.generated = performance.now();
      yield c;
    }
  },
  countTokens: (b, t) => step('countTokens', router.countTokens(b.model, t)),
  promptBudget: (b, signal) => step('promptBudget', router.promptBudget(b, signal ? { signal } : {})),
};
// --profile: the bot connection's calls and HTTP requests between the mention's arrival and the inference request.
if (profile) {
  const proto = BotConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const name of ['fetchEvent', 'joinedMembers', 'recentEvents', 'waitReadable', 'typing']) {
    const orig = proto[name]!;
    proto[name] = function (this: unknown, ...a: unknown[]) {
      return step(name, orig.apply(this, a));
    };
  }
}
const benchFetch: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const path = new URL(url).pathname.replace(/^\/_matrix\/client\/v\d+/, '');
  const p = globalThis.fetch(input, init);
  return profile && !path.endsWith('/sync')
    ? step(
        `${init?.method ?? 'GET'} ${path.replace(/![^/]+|%21[^/]+/, '!room').replace(/\/(send|typing)\/.*/, '/$1/…')}`,
        p,
      )
    : p;
};
const origStart = BotConnection.prototype.start;
BotConnection.prototype.start = function (handlers) {
  return origStart.call(this, {
    ...handlers,
    onEvent: (room: string, ev: RawEvent, since: string | undefined) => {
      if (!botSyncedAt.has(ev.event_id)) botSyncedAt.set(ev.event_id, performance.now());
      handlers.onEvent(room, ev, since);
    },
  });
};
const stateDir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
const runner = new BotRunner({
  provision: { homeserverUrl: baseUrl, serverName, roomId, owner: { userId: personAcc.userId }, bots: [bot] },
  getSettings: () => settings,
  inference,
  fetchFn: benchFetch,
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
  for await (const c of backend.chat({
    model: modelRef,
    messages: [
      { role: 'system', content: 'You are Bench.' },
      { role: 'user', content: `Person: @bench question ${i}` },
    ],
    sampling: { maxTokens, temperature: 0.7 },
  })) {
    if (c.type === 'text') {
      if (!first) first = performance.now();
      tokens += c.tokens;
    }
  }
  const end = performance.now();
  raw.ttft.push(first - t0);
  raw.tps.push(tokens / ((end - first) / 1000));
}

person.on(RoomEvent.Timeline, (e: MatrixEvent, _room, toStart) => {
  if (toStart || e.getSender() !== bot.userId) return;
  const content = e.getContent();
  const rel = content['m.relates_to'] as
    { rel_type?: string; event_id?: string; 'm.in_reply_to'?: { event_id?: string } } | undefined;
  if (rel?.rel_type === 'm.replace') {
    const entry = [...replies.values()].find((s) => s.replyId === rel.event_id);
    if (!entry) return;
    entry.edits++;
    if (content['org.agentroom.final'] === true)
      Object.assign(entry, { final: performance.now(), text: (content['m.new_content'] as { body: string }).body });
  } else if (rel?.['m.in_reply_to']?.event_id && !replies.has(rel['m.in_reply_to'].event_id)) {
    const now = performance.now();
    // A reply complete in its first message is marked final there.
    const final = content['org.agentroom.final'] === true ? { final: now, text: content.body as string } : {};
    replies.set(rel['m.in_reply_to'].event_id, { first: now, replyId: e.getId()!, edits: 0, ...final });
  }
});
watcher.on(RoomEvent.Timeline, (e: MatrixEvent, _room, toStart) => {
  const id = e.getId();
  if (!toStart && id && !deliveredAt.has(id)) deliveredAt.set(id, performance.now());
});
for (const c of [person, watcher]) {
  const ready = new Promise<void>((r) => c.on(ClientEvent.Sync, (s) => s === 'PREPARED' && r()));
  await c.startClient({ initialSyncLimit: 1, threadSupport: false });
  await ready;
}
await runner.start(new AbortController().signal);

const e2e = {
  ttfv: [] as number[],
  total: [] as number[],
  tps: [] as number[],
  edits: [] as number[],
  delivery: [] as number[],
  toInference: [] as number[],
  routing: [] as number[],
  finalAfter: [] as number[],
};
const waitUntil = async (what: string, probe: () => boolean): Promise<void> => {
  const deadline = Date.now() + 120_000;
  while (!probe() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  if (!probe()) throw new Error(`${what} within 120 s`);
};
console.log(
  `model: ${values.model}  runs: ${runs}  max tokens: ${maxTokens}  threads: ${threads}  homeserver: ${external ?? 'built-in test homeserver'}`,
);
for (let i = 0; i < runs; i++) {
  const run: Run = { steps: [] };
  current = run;
  const t0 = performance.now();
  const { event_id: id } = await person.sendEvent(
    roomId,
    'm.room.message' as never,
    { msgtype: 'm.text', body: `@bench question ${i}` } as never,
  );
  const sent = performance.now();
  await waitUntil(
    `no complete reply to mention ${i}`,
    () => replies.get(id)?.final !== undefined && deliveredAt.has(id),
  );
  current = undefined;
  const reply = replies.get(id)!;
  if (run.inference === undefined || run.generated === undefined)
    throw new Error(`mention ${i}: the bench did not see the inference request`);
  const tokens = await backend.countTokens(modelRef, reply.text ?? '');
  const r = {
    delivery: deliveredAt.get(id)! - t0,
    toInference: run.inference - t0,
    ttfv: reply.first - t0,
    total: reply.final! - t0,
    finalAfter: reply.final! - run.generated,
  };
  e2e.ttfv.push(r.ttfv);
  e2e.total.push(r.total);
  e2e.tps.push(tokens / ((reply.final! - reply.first) / 1000));
  e2e.edits.push(reply.edits);
  e2e.delivery.push(r.delivery);
  e2e.toInference.push(r.toInference);
  if (botSyncedAt.has(id)) e2e.routing.push(run.inference - botSyncedAt.get(id)!);
  e2e.finalAfter.push(r.finalAfter);
  console.log(
    `run ${i + 1}: delivery ${fmt(r.delivery)} ms  send→inference ${fmt(r.toInference)} ms  first visible ${fmt(r.ttfv)} ms  complete ${fmt(r.total)} ms  final after generation ${fmt(r.finalAfter)} ms`,
  );
  if (profile) {
    const at = (t: number | undefined) => (t === undefined ? '-' : fmt(t - t0));
    console.log(
      `  send returned ${at(sent)}  bot's sync ${at(botSyncedAt.get(id))}  watcher's sync ${at(deliveredAt.get(id))}  inference request ${at(run.inference)}  generation ended ${at(run.generated)}`,
    );
    const byStep = new Map<string, { n: number; ms: number; first: number; last: number }>();
    for (const s of run.steps.filter((x) => x.start <= run.inference!)) {
      const c = byStep.get(s.what) ?? { n: 0, ms: 0, first: s.start, last: 0 };
      c.n++;
      c.ms += (s.end ?? s.start) - s.start;
      c.last = Math.max(c.last, s.end ?? s.start);
      byStep.set(s.what, c);
    }
    for (const [what, c] of byStep)
      console.log(`    ${what.padEnd(44)} x${c.n}  ${fmt(c.ms)} ms in all, from ${at(c.first)} to ${at(c.last)}`);
  }
  // Leave the room's hourly budget and the next mention's context small and comparable.
  await person.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: '!reset' } as never);
  await new Promise((r) => setTimeout(r, 300));
}

await runner.stop(5000);
person.stopClient();
watcher.stopClient();
await backend.close();
await hs?.close();
rmSync(stateDir, { recursive: true, force: true });

console.log(`raw backend     first token p50 ${fmt(p50(raw.ttft))} ms   ${fmt(p50(raw.tps))} tok/s`);
console.log(
  `client (Matrix) first visible p50 ${fmt(p50(e2e.ttfv))} ms   complete p50 ${fmt(p50(e2e.total))} ms   ${fmt(p50(e2e.tps))} tok/s seen   edits/reply p50 ${p50(e2e.edits)}`,
);
console.log(`final_after_generation_ms_p50: ${fmt(p50(e2e.finalAfter))}`);
console.log(
  `send_to_inference_ms_p50: ${fmt(p50(e2e.toInference))} delivery_ms_p50: ${fmt(p50(e2e.delivery))} routing_ms_p50: ${fmt(p50(e2e.routing))}`,
);
console.log(
  `overhead_ms_p50: ${fmt(p50(e2e.ttfv) - p50(raw.ttft))} ratio: ${(p50(e2e.tps) / p50(raw.tps)).toFixed(3)}`,
);
process.exit(0);
