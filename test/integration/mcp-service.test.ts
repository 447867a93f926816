// The tools service against real MCP servers over stdio: the reference servers from npm
// (@modelcontextprotocol/server-everything and server-filesystem) and a tiny SDK server that misbehaves on purpose
// (test/support/mcp-test-server.ts). Servers start on first use, list their tools with annotations, run calls under
// a time limit with results cut for the prompt, restart after exiting, and leave no process behind when stopped.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { botSchema, settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import { isRunning } from '../../main/core/lifecycle/process-tree.ts';
import { McpService } from '../../main/core/mcp/mcp-service.ts';
import { McpToolError } from '../../main/core/mcp/mcp-types.ts';
import { toolsHandlers } from '../../main/core/control/handlers/tools.ts';
import { runMcpList, runMcpTest } from '../../main/cli/mcp-command.ts';

const BIN = join(process.cwd(), 'node_modules', '.bin');
const TEST_SERVER = join(process.cwd(), 'test', 'support', 'mcp-test-server.ts');
const services: McpService[] = [];

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

function service(
  servers: unknown[],
  mcp: Record<string, unknown> = {},
): { svc: McpService; settings: Settings; audit: AuditEntry[] } {
  const settings = settingsSchema.parse({ mcp: { servers, ...mcp } });
  const audit: AuditEntry[] = [];
  const svc = new McpService({
    getSettings: () => settings,
    resolveSecret: async (name) => (name === 'greeting' ? 'hello from the secret store' : undefined),
    audit: () => ({ record: (e) => audit.push(e) }),
  });
  services.push(svc);
  return { svc, settings, audit };
}

const testServer = (id: string, mode: string, extra: Record<string, unknown> = {}) => ({
  id,
  command: process.execPath,
  args: [TEST_SERVER, mode],
  ...extra,
});

const bot = (tools: string[], over: Record<string, unknown> = {}) =>
  botSchema.parse({ id: 'b', displayName: 'B', model: 'ollama:x', tools, ...over });

describe('MCP servers over stdio', () => {
  it('starts server-everything on first use, lists its tools with read-only annotations, echoes, and stops it', async () => {
    const { svc } = service([{ id: 'everything', command: join(BIN, 'mcp-server-everything') }]);
    await svc.start();
    expect(svc.servers()[0]).toMatchObject({ id: 'everything', status: 'idle', local: true });
    const { tools, problems } = await svc.forBot(bot(['everything/echo', 'everything/get-sum']));
    expect(problems).toEqual([]);
    expect(tools.map((t) => [t.fn, t.readOnly])).toEqual([
      ['everything__echo', true],
      ['everything__get-sum', true],
    ]);
    const pid = svc.servers()[0]!.pid!;
    expect(isRunning(pid)).toBe(true);
    const r = await svc.call(tools[0]!, { message: 'hello tools' });
    expect(r).toMatchObject({ text: 'Echo: hello tools', isError: false, truncated: false });
    await svc.stop();
    expect(isRunning(pid)).toBe(false);
    expect(svc.state.status).toBe('stopped');
  });

  it('knows server-filesystem write_file changes things and read_text_file does not; settings override that', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-fs-'));
    const { svc } = service([
      { id: 'files', command: join(BIN, 'mcp-server-filesystem'), args: [dir], readOnlyTools: ['create_directory'] },
    ]);
    const { tools } = await svc.forBot(bot(['files']));
    const ro = Object.fromEntries(tools.map((t) => [t.name, t.readOnly]));
    expect(ro).toMatchObject({ write_file: false, read_text_file: true, edit_file: false, create_directory: true });
  });

  it('passes env values and secret references, and nothing else of the app environment', async () => {
    process.env.AGENT_ROOM_TEST_LEAK = 'must-not-leak';
    const { svc } = service([
      {
        id: 'everything',
        command: join(BIN, 'mcp-server-everything'),
        env: { PLAIN: 'plain value', FROM_SECRET: 'secret:greeting' },
      },
    ]);
    const { tools } = await svc.forBot(bot(['everything/get-env']));
    const env = JSON.parse((await svc.call(tools[0]!, {})).text) as Record<string, string>;
    expect(env.PLAIN).toBe('plain value');
    expect(env.FROM_SECRET).toBe('hello from the secret store');
    expect(env.AGENT_ROOM_TEST_LEAK).toBeUndefined();
  });

  it('a local-only bot gets no HTTP server off this machine', async () => {
    const { svc } = service([{ id: 'remote', url: 'https://mcp.example.com/mcp' }]);
    const { tools, problems } = await svc.forBot(bot(['remote'], { localOnly: true }));
    expect(tools).toEqual([]);
    expect(problems[0]).toMatch(/local-only and the MCP server "remote" is not on this machine/);
  });
});

describe('MCP bad input', () => {
  it('a server that fails to start: a clear error with its stderr, and a pause before the next try', async () => {
    const { svc } = service([testServer('broken', 'fail-start')]);
    const first = await svc.forBot(bot(['broken']));
    expect(first.tools).toEqual([]);
    expect(first.problems[0]).toMatch(/The MCP server "broken" could not start: .*cannot open the database/);
    const again = await svc.forBot(bot(['broken']));
    expect(again.problems[0]).toMatch(/the next try is in \d+ s/);
    expect(svc.servers()[0]!.status).toMatch(/restarting|failed/);
  });

  it('a missing command: StartFailed naming it', async () => {
    const { svc } = service([{ id: 'gone', command: '/nonexistent/mcp-server' }]);
    const r = await svc.forBot(bot(['gone']));
    expect(r.problems[0]).toMatch(/could not start: .*ENOENT/);
  });

  it('a server that exits mid-call: Exited, and it is started again for the next call', async () => {
    const { svc } = service([testServer('flaky', 'exit')]);
    const { tools } = await svc.forBot(bot(['flaky']));
    const ping = tools.find((t) => t.name === 'ping')!;
    const err = await svc.call(ping, { text: 'a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpToolError);
    expect((err as McpToolError).code).toBe('Exited');
    expect((err as McpToolError).message).toMatch(/stopped answering while asked to run ping/);
    // Restarted after the backoff (250 ms for the first crash): touch works on the new process.
    const touch = tools.find((t) => t.name === 'touch')!;
    await new Promise((r) => setTimeout(r, 400));
    expect((await svc.call(touch, { name: 'x' })).text).toBe('touched x');
  });

  it('a server that hangs: Timeout after timeoutMs, and the stuck process is ended', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'mcp-pids-')), 'pids');
    const { svc } = service([testServer('stuck', 'hang', { timeoutMs: 1500, env: { MCP_TEST_PID_FILE: pidFile } })]);
    const { tools } = await svc.forBot(bot(['stuck']));
    const started = Date.now();
    const err = (await svc
      .call(
        tools.find((t) => t.name === 'ping')!,
        { text: 'a' },
      )
      .catch((e: unknown) => e)) as McpToolError;
    expect(err.code).toBe('Timeout');
    expect(err.message).toMatch(/did not run ping within 1500 ms/);
    expect(Date.now() - started).toBeLessThan(6000);
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids.filter(isRunning)).toEqual([]);
  });

  it('a server that writes what is not JSON-RPC mid-call: BadResponse at once, not a timeout', async () => {
    const { svc } = service([testServer('garbled', 'garbage', { timeoutMs: 20_000 })]);
    const { tools } = await svc.forBot(bot(['garbled']));
    const started = Date.now();
    const err = (await svc
      .call(
        tools.find((t) => t.name === 'ping')!,
        { text: 'a' },
      )
      .catch((e: unknown) => e)) as McpToolError;
    expect(err.code).toBe('BadResponse');
    expect(err.message).toMatch(/not JSON-RPC/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a 10 MB result is cut to maxResultChars with a note', async () => {
    const { svc } = service([testServer('big', 'big')], { maxResultChars: 5000 });
    const { tools } = await svc.forBot(bot(['big']));
    const r = await svc.call(
      tools.find((t) => t.name === 'ping')!,
      { text: 'a' },
    );
    expect(r.truncated).toBe(true);
    expect(r.bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(r.text.length).toBeLessThan(5200);
    expect(r.text).toMatch(/\[cut: the result was 10485760 characters; only the first 5000 are shown\]$/);
  });

  it('stop ends the whole process tree (a grandchild included): no orphans', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'mcp-pids-')), 'pids');
    const { svc } = service([testServer('tree', 'tree', { env: { MCP_TEST_PID_FILE: pidFile } })]);
    await svc.forBot(bot(['tree']));
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids.length).toBe(2);
    expect(pids.every(isRunning)).toBe(true);
    await svc.stop();
    expect(pids.filter(isRunning)).toEqual([]);
  });

  it('an unknown server in a bot is a settings error naming it', () => {
    const r = settingsSchema.safeParse({ bots: [{ id: 'b', displayName: 'B', model: 'ollama:x', tools: ['nope'] }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/no MCP server is called "nope"/);
  });
});

describe('the control API and the CLI', () => {
  it('tools.servers and tools.test show the state and, once started, the tools', async () => {
    const { svc, settings } = service([{ id: 'everything', command: join(BIN, 'mcp-server-everything') }]);
    settings.bots = [bot(['everything/echo'])];
    const h = toolsHandlers({ settings: { get: () => settings }, tools: svc });
    expect(await h['tools.servers'](undefined)).toEqual([
      expect.objectContaining({ id: 'everything', status: 'idle', local: true, usedBy: ['b'] }),
    ]);
    const tested = await h['tools.test']({ server: 'everything' });
    expect(tested.status).toBe('ready');
    expect(tested.tools?.find((t) => t.name === 'echo')).toMatchObject({ readOnly: true });
    await expect(h['tools.test']({ server: 'nope' })).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('agent-room mcp list and mcp test', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-cli-'));
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({
        mcp: {
          servers: [
            { id: 'everything', command: join(BIN, 'mcp-server-everything') },
            { id: 'gone', command: '/nonexistent/mcp' },
          ],
        },
      }),
    );
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await runMcpList({ dataDir: dir }, io)).toBe(0);
    expect(out.join('\n')).toMatch(
      /^everything {2}stdio {2}this machine {2}.*mcp-server-everything\n {4}used by: no bot\ngone/,
    );
    out.length = 0;
    expect(await runMcpTest('everything', { dataDir: dir }, io)).toBe(0);
    expect(out[0]).toMatch(/^everything: started in \d+ ms \(pid \d+\); \d+ tools:$/);
    expect(out).toContain('  echo  read-only  Echoes back the input string');
    expect(await runMcpTest('gone', { dataDir: dir }, io)).toBe(1);
    expect(err.join('\n')).toMatch(/The MCP server "gone" could not start: .*ENOENT\nCheck the server's command/);
  });
});
