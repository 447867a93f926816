// Bots with MCP tools in the room (test homeserver, and Synapse through `npm run test:external`): real MCP servers
// from npm started over stdio by the tools service (@modelcontextprotocol/server-everything, server-filesystem),
// models on the local OpenAI-compatible and Ollama test servers scripted to call tools. A bot calls `echo` and
// answers with its result; a write waits for ✅ (or !allow) and runs once; ❌ and a timeout deny; a model that
// calls an unknown tool, passes bad arguments or loops ends its reply with a clear line; every call is audited.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import { APPROVAL_KEY } from '../../main/core/bots/tool-approval.ts';
import type { BotInference, RawEvent } from '../../main/core/bots/types.ts';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { McpService } from '../../main/core/mcp/mcp-service.ts';
import { finalEdit, makeTeam, mentionLog, runner, say, waitFor, waitIdle, type Team } from '../support/bots-harness.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';
import { OpenAITestServer } from '../support/openai-server.ts';
import { lastToolResult, type ToolScript } from '../support/tool-script.ts';

const BIN = join(process.cwd(), 'node_modules', '.bin');
const TEST_SERVER = join(process.cwd(), 'test', 'support', 'mcp-test-server.ts');
let team: Team;
let openai: OpenAITestServer;
let ollama: OllamaTestServer;
let tools: McpService;
let bots: BotRunner;
let dir: string;
const audit: AuditEntry[] = [];
const log = mentionLog();

/** The "model": what to call is read from the question; once a tool answered, it answers with the result. */
const script: ToolScript = (req) => {
  const result = lastToolResult(req);
  const q = req.lastUser;
  const loop = /\bloop\b/.test(q);
  if (result !== undefined && !loop) return { text: `The tool said: ${result}` };
  const name = /write (\w+)/.exec(q)?.[1];
  if (name && req.tools.includes('files__write_file'))
    return {
      toolCalls: [
        { name: 'files__write_file', arguments: { path: join(dir, `${name}.txt`), content: `note ${name}` } },
      ],
    };
  if (req.tools.includes('stuck__ping')) return { toolCalls: [{ name: 'stuck__ping', arguments: { text: 'hello' } }] };
  if (/unknown tool/.test(q)) return { toolCalls: [{ name: 'everything__launch_missiles', arguments: {} }] };
  if (/bad args/.test(q)) return { toolCalls: [{ name: 'everything__echo', arguments: { message: 42 } }] };
  if (/broken json/.test(q))
    return { toolCalls: [{ name: 'everything__echo', arguments: '{"message": "unterminated' }] };
  if (req.tools.includes('everything__echo'))
    return { toolCalls: [{ name: 'everything__echo', arguments: { message: q.replace(/^(?:[^:@]+:\s*)+/, '') } }] };
  return undefined;
};

const bot = (id: string, model: string, extra: Record<string, unknown>) => ({
  ...team.settings.bots.find((b) => b.id === id)!,
  model,
  ...extra,
});

beforeAll(async () => {
  team = await makeTeam(['opal', 'olla', 'writer'], { rateLimit: { maxRequests: 100, windowSeconds: 60 } });
  dir = mkdtempSync(join(tmpdir(), 'bots-tools-files-'));
  openai = await OpenAITestServer.start({ models: ['tool-model'], script });
  ollama = await OllamaTestServer.start({ models: [{ ...fakeModel('llama3.2:1b'), tools: true }], script });
  const parsed = settingsSchema.parse({
    endpoints: { openai: [{ id: 'local', url: openai.url }], ollama: [{ id: 'here', url: ollama.url }] },
    mcp: {
      servers: [
        { id: 'everything', command: join(BIN, 'mcp-server-everything') },
        { id: 'files', command: join(BIN, 'mcp-server-filesystem'), args: [dir] },
        { id: 'broken', command: process.execPath, args: [TEST_SERVER, 'fail-start'] },
        { id: 'stuck', command: process.execPath, args: [TEST_SERVER, 'hang'], timeoutMs: 1500 },
      ],
      approvalTimeoutMs: 60_000,
    },
  });
  Object.assign(team.settings, { endpoints: parsed.endpoints, mcp: parsed.mcp });
  team.settings.bots = [
    bot('opal', 'openai:local/tool-model', { tools: ['everything/echo'], maxToolSteps: 2 }),
    bot('olla', 'ollama:llama3.2:1b', { tools: ['everything/echo'] }),
    bot('writer', 'openai:local/tool-model', { tools: ['files/write_file'] }),
  ];
  const router = new InferenceRouter({
    backends: [
      new OpenAIBackend({ getEndpoints: () => team.settings.endpoints.openai }),
      new OllamaBackend({ getEndpoints: () => team.settings.endpoints.ollama }),
    ],
    getSettings: () => team.settings,
  });
  const inference: BotInference = {
    chat: (r) => router.chat(r),
    countTokens: (b, text) => router.countTokens(b.model, text),
  };
  tools = new McpService({
    getSettings: () => team.settings,
    resolveSecret: async () => undefined,
    audit: () => ({ record: (e) => audit.push(e) }),
  });
  await tools.start();
  bots = runner(team, { inference, tools, logger: log.logger });
  await bots.start(new AbortController().signal);
}, 60_000);

afterAll(async () => {
  await bots?.stop(5000);
  await tools?.stop();
  await openai?.close();
  await ollama?.close();
  await team?.close();
});

const userId = (id: string) => team.provision.bots.find((b) => b.id === id)!.userId;

async function ask(botId: string, text: string): Promise<string> {
  return say(team, { msgtype: 'm.text', body: `@${botId} ${text}`, 'm.mentions': { user_ids: [userId(botId)] } });
}

/** The final text of the bot's reply to the event, once answered and seen by the owner's client. */
async function answer(botId: string, eventId: string, timeoutMs = 30_000): Promise<string> {
  await waitFor(`${botId}'s answer`, () => log.of(eventId, botId), timeoutMs);
  const final = await waitFor(`${botId}'s final reply`, () => {
    const reply = team.seen.find(
      (e) =>
        e.sender === userId(botId) &&
        e.content.msgtype === 'm.text' &&
        (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']
          ?.event_id === eventId,
    );
    return reply && (reply.content['org.agentroom.final'] ? reply : finalEdit(team, reply.event_id));
  });
  const content = (final.content['m.new_content'] ?? final.content) as Record<string, unknown>;
  return String(content.body ?? '');
}

const approvalNotice = (eventId: string): RawEvent | undefined =>
  team.seen.find(
    (e) =>
      e.content[APPROVAL_KEY] !== undefined &&
      (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']
        ?.event_id === eventId,
  );

async function react(target: string, key: string): Promise<void> {
  await team.owner.sendEvent(
    team.provision.roomId,
    'm.reaction' as never,
    {
      'm.relates_to': { rel_type: 'm.annotation', event_id: target, key },
    } as never,
  );
}

describe('bots with MCP tools in the room', () => {
  it('a bot on the OpenAI-compatible server calls everything/echo and answers with its result', async () => {
    const id = await ask('opal', 'please echo tomato soup');
    const text = await answer('opal', id);
    expect(text).toMatch(/^🔧 everything\/echo \(\d+ ms\)\n\nThe tool said: Echo: @opal please echo tomato soup$/);
    expect(log.of(id, 'opal')?.outcome).toBe('answered');
    const [first, second] = openai
      .chatRequests()
      .slice(-2)
      .map((r) => r.body!);
    expect((first!.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual([
      'everything__echo',
    ]);
    expect((second!.messages as Array<{ role: string }>).map((m) => m.role).slice(-2)).toEqual(['assistant', 'tool']);
    expect(audit.at(-1)).toMatchObject({
      backend: 'mcp',
      model: 'everything/echo',
      outcome: 'ok',
      approvedBy: 'read-only',
      local: true,
    });
    expect(audit.at(-1)!.argsBytes).toBeGreaterThan(10);
    expect(audit.at(-1)!.resultBytes).toBeGreaterThan(10);
  }, 60_000);

  it('a bot on the Ollama server does the same', async () => {
    const id = await ask('olla', 'echo pea soup');
    expect(await answer('olla', id)).toMatch(
      /^🔧 everything\/echo \(\d+ ms\)\n\nThe tool said: Echo: @olla echo pea soup$/,
    );
    const last = ollama.requestsTo('/api/chat').at(-1)!.body!;
    expect((last.messages as Array<{ role: string; tool_name?: string }>).at(-1)).toMatchObject({
      role: 'tool',
      tool_name: 'everything__echo',
    });
  }, 60_000);

  it('a write waits for ✅ and runs once', async () => {
    const id = await ask('writer', 'write alpha');
    const notice = await waitFor('the approval notice', () => approvalNotice(id));
    expect(String(notice.content.body)).toMatch(/wants to run \*\*files\/write_file\*\*, which can change things/);
    expect(String(notice.content.body)).toContain('"content": "note alpha"');
    expect(existsSync(join(dir, 'alpha.txt'))).toBe(false);
    await react(notice.event_id, '✅');
    const text = await answer('writer', id);
    expect(text).toMatch(/^🔧 files\/write_file \(\d+ ms\)\n\nThe tool said: Successfully wrote to/);
    expect(readFileSync(join(dir, 'alpha.txt'), 'utf8')).toBe('note alpha');
    const writes = audit.filter((e) => e.model === 'files/write_file' && e.outcome === 'ok');
    expect(writes).toHaveLength(1);
    expect(writes[0]!.approvedBy).toBe(`approved by ${team.provision.owner.userId}`);
  }, 60_000);

  it('!allow decides the waiting call too', async () => {
    const id = await ask('writer', 'write beta');
    await waitFor('the approval notice', () => approvalNotice(id));
    await say(team, { msgtype: 'm.text', body: '!allow' });
    await answer('writer', id);
    expect(readFileSync(join(dir, 'beta.txt'), 'utf8')).toBe('note beta');
  }, 60_000);

  it('❌ denies: nothing is written and the reply says who denied it', async () => {
    const id = await ask('writer', 'write gamma');
    const notice = await waitFor('the approval notice', () => approvalNotice(id));
    await react(notice.event_id, '❌');
    const text = await answer('writer', id);
    expect(text).toContain(`🔧 files/write_file: ⚠️ denied by ${team.provision.owner.userId}`);
    expect(existsSync(join(dir, 'gamma.txt'))).toBe(false);
    expect(audit.at(-1)).toMatchObject({ model: 'files/write_file', outcome: 'refused', errorCode: 'Denied' });
  }, 60_000);

  it('no answer in time denies', async () => {
    team.settings.mcp = { ...team.settings.mcp, approvalTimeoutMs: 1500 };
    try {
      const id = await ask('writer', 'write delta');
      const text = await answer('writer', id);
      expect(text).toContain('🔧 files/write_file: ⚠️ not run: no answer in 1500 ms');
      expect(existsSync(join(dir, 'delta.txt'))).toBe(false);
    } finally {
      team.settings.mcp = { ...team.settings.mcp, approvalTimeoutMs: 60_000 };
    }
  }, 60_000);
});

describe('bad tool calls end with a clear line; the bot keeps answering', () => {
  it('an unknown tool', async () => {
    const id = await ask('opal', 'use the unknown tool');
    const text = await answer('opal', id);
    expect(text).toMatch(
      /^🔧 everything__launch_missiles: ⚠️ no such tool; not run\n\nThe tool said: Error: there is no tool called/,
    );
  }, 60_000);

  it('arguments that fail the schema, and arguments that are not JSON', async () => {
    const bad = await answer('opal', await ask('opal', 'bad args please'));
    expect(bad).toMatch(
      /🔧 everything\/echo: ⚠️ the arguments do not fit its schema \(\/message must be string\); not run/,
    );
    const broken = await answer('opal', await ask('opal', 'broken json please'));
    expect(broken).toMatch(/🔧 everything\/echo: ⚠️ the arguments are not valid JSON/);
  }, 60_000);

  it('a model that loops calling tools stops at maxToolSteps', async () => {
    const text = await answer('opal', await ask('opal', 'loop forever'));
    expect(text.match(/🔧 everything\/echo/g)).toHaveLength(2);
    expect(text).toMatch(
      /⚠️ Stopped after 2 rounds of tool calls \(this bot's maxToolSteps is 2\): the model kept calling tools without answering\.$/,
    );
    const id = await ask('opal', 'echo still alive');
    expect(await answer('opal', id)).toContain('The tool said: Echo:');
    await waitIdle(bots);
  }, 60_000);

  it('an MCP server that fails to start: the answer goes on without it and ends with a line saying why', async () => {
    const opal = team.settings.bots[0]!;
    team.settings.bots[0] = { ...opal, tools: ['everything/echo', 'broken'] };
    try {
      const text = await answer('opal', await ask('opal', 'echo despite the broken server'));
      expect(text).toMatch(
        /The tool said: Echo: @opal echo despite the broken server\n\n⚠️ The MCP server "broken" could not start: .*cannot open the database \(simulated\)/,
      );
    } finally {
      team.settings.bots[0] = opal;
    }
  }, 60_000);

  it('an MCP server that hangs: the call’s line says so after its timeout', async () => {
    const opal = team.settings.bots[0]!;
    team.settings.bots[0] = { ...opal, tools: ['stuck'] };
    try {
      const text = await answer('opal', await ask('opal', 'ping the stuck server'));
      expect(text).toMatch(/^🔧 stuck\/ping: ⚠️ The MCP server "stuck" did not run ping within 1500 ms\./);
      expect(audit.at(-1)).toMatchObject({ model: 'stuck/ping', outcome: 'failed', errorCode: 'Timeout' });
    } finally {
      team.settings.bots[0] = opal;
    }
  }, 60_000);
});
