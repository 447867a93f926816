// A bot whose Ollama stalls mid-answer: the reply in the room ends with a notice saying what happened once the idle
// limit passes (not left half-written), the mention is logged as failed, and the next mention to that bot is answered.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../main/core/audit/audit-store.ts';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { BotInference, RawEvent } from '../../main/core/bots/types.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import {
  finalEdit,
  makeTeam,
  mentionLog,
  repliesFrom,
  runner,
  say,
  waitFor,
  type Team,
} from '../support/bots-harness.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';

let team: Team;
let server: OllamaTestServer;
let bots: BotRunner;
const auditDir = mkdtempSync(join(tmpdir(), 'stall-audit-'));
const audit = AuditStore.open({ file: join(auditDir, 'audit.sqlite') });
const log = mentionLog();

beforeAll(async () => {
  team = await makeTeam(['qwen']);
  team.settings.bots = team.settings.bots.map((b) => ({ ...b, model: 'ollama:qwen2.5:0.5b', localOnly: false }));
  server = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
  const backend = new OllamaBackend({
    getEndpoints: () => [{ id: 'home', url: server.url, idleTimeoutMs: 1000, loadTimeoutMs: 1000 }],
  });
  const router = new InferenceRouter({
    backends: [backend],
    getSettings: () => team.settings,
    ...(audit ? { audit } : {}),
  });
  const inference: BotInference = {
    chat: (r) => router.chat(r),
    countTokens: (b, text) => router.countTokens(b.model, text),
  };
  bots = runner(team, { inference, logger: log.logger });
  await bots.start(new AbortController().signal);
}, 60_000);

afterAll(async () => {
  await bots?.stop(5000);
  await server?.close();
  await team?.close();
  audit?.close();
  rmSync(auditDir, { recursive: true, force: true });
});

/** The reply's whole text once final: its final edit, or the reply itself when it went out whole. */
function finalText(reply: RawEvent): string | undefined {
  if (reply.content['org.agentroom.final'] === true) return String(reply.content.body);
  const edit = finalEdit(team, reply.event_id);
  return edit ? String((edit.content['m.new_content'] as { body: string }).body) : undefined;
}

const replyTo = (eventId: string) =>
  repliesFrom(team, '@qwen:bots.local').find((e) => JSON.stringify(e.content['m.relates_to'] ?? {}).includes(eventId));

describe('a stalled model behind a bot', () => {
  it('ends the reply with a notice within the idle limit, and the next mention is answered', async () => {
    server.addFault({ kind: 'stall', afterChunks: 3 }, '/api/chat');
    const asked = await say(team, { msgtype: 'm.text', body: '@qwen one two three four five six' });
    const text = await waitFor(
      'the final text',
      () => {
        const r = replyTo(asked);
        return r && finalText(r);
      },
      15_000,
    );
    expect(text).toMatch(/^Echo: owner:/); // what came before the stall is kept (the model echoes 'owner: …')
    expect(text).toMatch(/The answer could not be completed: .*sent nothing for 1 s/);
    expect(text).toContain('idleTimeoutMs'); // the hint names the setting
    expect(log.of(asked, 'qwen')?.outcome).toBe('failed');

    const next = await say(team, { msgtype: 'm.text', body: '@qwen again please' });
    await waitFor('the next answer', () => log.of(next, 'qwen'), 15_000);
    expect(log.of(next, 'qwen')?.outcome).toBe('answered');
    expect(
      await waitFor('its final text', () => {
        const r = replyTo(next);
        return r && finalText(r);
      }),
    ).toMatch(/^Echo: .*again please/);
    // The audit trail has both calls, with the room and the mention they answered.
    const calls = audit?.list() ?? [];
    expect(calls.map((c) => [c.eventId, c.outcome])).toEqual([
      [asked, 'failed'],
      [next, 'ok'],
    ]);
    for (const c of calls) expect(c).toMatchObject({ roomId: team.provision.roomId, botId: 'qwen', local: true });
  }, 60_000);
});
