// `npm run bench:burst -- --mentions N --bots B [--homeserver-url URL --registration-token T] [--max-tokens 16]`
// A real `agent-room serve` in a data folder of its own (the test homeserver as the Conduit stand-in, or an external
// homeserver such as Synapse), B bots on the generated tiny model, the per-sender rate limit raised above N. A
// separate client (the owner, signed in on a device of its own) sends the N mentions at once, spread over the bots,
// then the whole room is read back until every mention has its outcome. Prints the counts and the time to the last
// answer; last line `answered=… noticed=… lost=… duplicated=…` (lost: neither answered nor refused with a notice).
// The team room is unencrypted here (room.encrypted false), so plain HTTP can send and read it.
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startCli } from '../test/support/cli.ts';
import { FINAL_KEY, type TimelineEvent } from '../test/support/faults/replies.ts';
import { botSettings, makeDataDir, provision, secrets, standIn } from '../test/support/faults/stack.ts';
import { tinyModel } from '../test/support/models.ts';

const { values } = parseArgs({
  options: {
    mentions: { type: 'string', default: '64' },
    bots: { type: 'string', default: '4' },
    'homeserver-url': { type: 'string' },
    'registration-token': { type: 'string' },
    'max-tokens': { type: 'string', default: '16' },
    'timeout-s': { type: 'string', default: '600' },
    keep: { type: 'boolean', default: false },
  },
});
const n = Math.max(1, Number(values.mentions));
const b = Math.max(1, Number(values.bots));
const external = values['homeserver-url'];
if (external && !values['registration-token']) {
  console.error(
    '--homeserver-url needs --registration-token (the homeserver registers the owner and the bots with it)',
  );
  process.exit(2);
}
// Fresh names per run, so the same external homeserver can be used again.
const suffix = Date.now().toString(36).slice(-5);
const botIds = Array.from({ length: b }, (_, i) => `b${i + 1}-${suffix}`);
const model = `llama:${await tinyModel()}`;
const settings = botSettings(
  botIds.map((id) => ({ id, model, maxTokens: Number(values['max-tokens']) })),
  {
    guard: { rateLimit: { maxRequests: n + 10, windowSeconds: 60 }, editsPerSecond: 2 },
    owner: { localpart: `owner-${suffix}`, displayName: 'Bench owner' },
    room: { encrypted: false },
  },
);
const dir = makeDataDir(settings, 'agent-room-bench-burst-');
const args = [
  '--data-dir',
  dir,
  'serve',
  '--port',
  '0',
  ...(external ? ['--homeserver-url', external, '--registration-token', values['registration-token']!] : []),
];
const cli = startCli(args, { AGENT_ROOM_CONDUIT: standIn });

try {
  const startLine = await cli.waitFor(/Agent Room is ready\.|Agent Room started with problems:|Start failed/, 120_000);
  if (!/ready/.test(startLine[0])) throw new Error(`serve did not start cleanly:\n${cli.output()}`);
  const p = provision(dir);
  const hs = p.homeserverUrl;
  const pass = secrets(dir)['matrix.owner.password']!;
  const login = (await (
    await fetch(`${hs}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: p.owner.userId },
        password: pass,
        initial_device_display_name: 'bench:burst',
      }),
    })
  ).json()) as { access_token: string };
  const auth = { authorization: `Bearer ${login.access_token}`, 'content-type': 'application/json' };
  const room = encodeURIComponent(p.roomId);
  const timeline = async (): Promise<TimelineEvent[]> => {
    const all: TimelineEvent[] = [];
    for (let from: string | undefined; ;) {
      const q = new URLSearchParams({ dir: 'b', limit: '1000', ...(from ? { from } : {}) });
      const page = (await (
        await fetch(`${hs}/_matrix/client/v3/rooms/${room}/messages?${q}`, { headers: auth })
      ).json()) as { chunk: TimelineEvent[]; end?: string };
      all.push(...page.chunk);
      if (!page.end || page.chunk.length === 0) return all.reverse();
      from = page.end;
    }
  };

  console.log(
    `serve ready on ${external ?? 'the test homeserver (Conduit stand-in)'}; ${b} bots; sending ${n} mentions at once`,
  );
  const t0 = Date.now();
  const asked = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const bot = p.bots[i % b]!;
      const res = await fetch(`${hs}/_matrix/client/v3/rooms/${room}/send/m.room.message/burst-${suffix}-${i}`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({
          msgtype: 'm.text',
          body: `@${bot.id} burst question ${i}`,
          'm.mentions': { user_ids: [bot.userId] },
        }),
      });
      const json = (await res.json()) as { event_id?: string; error?: string };
      if (!json.event_id) throw new Error(`send ${i} failed: ${res.status} ${json.error ?? ''}`);
      return { id: json.event_id, bot: bot.userId };
    }),
  );
  const sendMs = Date.now() - t0;

  const rel = (e: TimelineEvent) =>
    (e.content?.['m.relates_to'] ?? {}) as {
      rel_type?: string;
      event_id?: string;
      'm.in_reply_to'?: { event_id?: string };
    };
  const judge = (events: TimelineEvent[]) => {
    const finals = new Map<string, number>();
    for (const e of events)
      if (rel(e).rel_type === 'm.replace' && e.content?.[FINAL_KEY] === true)
        finals.set(rel(e).event_id!, e.origin_server_ts ?? 0);
    let answered = 0;
    let noticed = 0;
    let duplicated = 0;
    let last = 0;
    for (const a of asked) {
      const replies = events.filter(
        (e) => e.sender === a.bot && rel(e).rel_type !== 'm.replace' && rel(e)['m.in_reply_to']?.event_id === a.id,
      );
      const texts = replies.filter((e) => e.content?.msgtype !== 'm.notice');
      if (texts.length > 1) duplicated++;
      const done = texts
        .map((e) => (e.content?.[FINAL_KEY] === true ? e.origin_server_ts : finals.get(e.event_id)))
        .find((t) => t !== undefined);
      if (done !== undefined) {
        answered++;
        last = Math.max(last, done);
      } else if (replies.some((e) => e.content?.msgtype === 'm.notice')) noticed++;
    }
    return { answered, noticed, duplicated, last };
  };
  const deadline = Date.now() + Number(values['timeout-s']) * 1000;
  let r = judge(await timeline());
  while (r.answered + r.noticed < n && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 500));
    r = judge(await timeline());
  }
  // A burst refused with one notice per sender: the mentions after the noticed one are covered by it.
  const burstNotice = r.noticed > 0 ? n - r.answered - r.noticed : 0;
  const noticed = r.noticed + burstNotice;
  const lost = n - r.answered - noticed;
  console.log(`sent ${n} mentions in ${sendMs} ms`);
  console.log(
    `time to the last answer: ${r.last ? r.last - t0 : NaN} ms (${r.answered ? Math.round((r.last - t0) / r.answered) : NaN} ms per answer)`,
  );
  console.log(`answered=${r.answered} noticed=${noticed} lost=${lost} duplicated=${r.duplicated}`);
  process.exitCode = lost > 0 || r.duplicated > 0 ? 1 : 0;
} finally {
  cli.child.kill('SIGTERM');
  await new Promise((res) => cli.child.once('exit', res));
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
