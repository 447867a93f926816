// External agents as a backend, against a real program (test/support/agent-program.ts): the prompt on stdin, the
// output streamed, a recorded Claude Code stream read through its adapter, only the environment settings give, and
// the bad input: a missing command, a non-zero exit, a run that never ends, output past the cap, a stop. After
// each, no process of the run is left.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import { AgentBackend } from '../../main/core/inference/agent/agent-backend.ts';
import { isRunning } from '../../main/core/lifecycle/process-tree.ts';
import type { InferenceError } from '../../main/core/inference/types.ts';
import { type ChatChunk } from '../../main/core/inference/types.ts';

const PROGRAM = join(process.cwd(), 'test', 'support', 'agent-program.ts');
const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'agents');

function backend(agents: unknown[]) {
  const settings = settingsSchema.parse({ agents });
  return new AgentBackend({
    getAgents: () => settings.agents,
    resolveSecret: async (name) => (name === 'agent.token' ? 'token-from-store' : undefined),
    env: {
      ...process.env,
      AGENT_ROOM_SECRET_KEY: 'sk-do-not-leak',
      FROM_APP: 'app value',
    },
  });
}

const program = (id: string, mode: string, extra: Record<string, unknown> = {}) => ({
  id,
  command: process.execPath,
  args: [PROGRAM, mode],
  ...extra,
});

async function run(
  b: AgentBackend,
  model: string,
  signal?: AbortSignal,
): Promise<{ text: string; error?: InferenceError; pieces: number }> {
  let text = '';
  let pieces = 0;
  try {
    for await (const c of b.chat({
      model,
      messages: [{ role: 'user', content: 'owner: hello agent' }],
      ...(signal ? { signal } : {}),
    }) as AsyncIterable<ChatChunk>) {
      if (c.type === 'text') {
        text += c.text;
        pieces++;
      }
    }
    return { text, pieces };
  } catch (err) {
    return { text, pieces, error: err as InferenceError };
  }
}

const pidsIn = (file: string): number[] => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number);
const pidFile = () => join(mkdtempSync(join(tmpdir(), 'agent-pids-')), 'pids');

describe('external agents', () => {
  it('gets the prompt on stdin and streams its answer; counts as local', async () => {
    const b = backend([program('echo', 'echo')]);
    expect(b.isLocal('agent:echo')).toBe(true);
    expect(await run(b, 'agent:echo')).toMatchObject({ text: 'agent got: owner: hello agent' });
  });

  it('reads a recorded Claude Code stream through its adapter', async () => {
    const b = backend([
      program('claude', 'replay', {
        format: 'claude-stream-json',
        args: [PROGRAM, 'replay', join(FIXTURES, 'claude-stream-json.jsonl')],
      }),
    ]);
    const r = await run(b, 'agent:claude');
    expect(r.error).toBeUndefined();
    expect(r.text).toBe("I'll look at the tests first.\n🔧 Bash: npm test\n\n\nAll 12 tests pass.");
    expect(r.pieces).toBeGreaterThan(1);
  });

  it('a Codex turn that failed ends with its error', async () => {
    const b = backend([
      program('codex', 'replay', {
        format: 'codex-json',
        args: [PROGRAM, 'replay', join(FIXTURES, 'codex-json-failed.jsonl')],
      }),
    ]);
    const r = await run(b, 'agent:codex');
    expect(r.error?.message).toMatch(/The agent "codex" reported an error: stream error: exceeded retry limit/);
  });

  it('passes only the base environment and what settings give (values, secret: and env: references)', async () => {
    const b = backend([
      program('env', 'env', { env: { TOKEN: 'secret:agent.token', PLAIN: 'x', COPIED: 'env:FROM_APP' } }),
    ]);
    const env = JSON.parse((await run(b, 'agent:env')).text) as Record<string, string>;
    expect(env).toMatchObject({ TOKEN: 'token-from-store', PLAIN: 'x', COPIED: 'app value' });
    expect(env.AGENT_ROOM_SECRET_KEY).toBeUndefined();
    expect(env.PATH).toBeTruthy();
  });

  it('a missing command', async () => {
    const r = await run(backend([{ id: 'gone', command: '/nonexistent/agent-cli' }]), 'agent:gone');
    expect(r.error?.code).toBe('BackendUnavailable');
    expect(r.error?.message).toBe(
      'The agent "gone" could not start: the command "/nonexistent/agent-cli" was not found.',
    );
  });

  it('a non-zero exit, with its last stderr line', async () => {
    const r = await run(backend([program('bad', 'fail')]), 'agent:bad');
    expect(r.text).toBe('starting\n');
    expect(r.error?.message).toBe('The agent "bad" exited with code 2: fatal: simulated failure.');
  });

  it('a run that never ends is stopped at its time limit, with no process left', async () => {
    const file = pidFile();
    const started = Date.now();
    const r = await run(
      backend([program('stuck', 'forever', { timeoutMs: 800, env: { AGENT_TEST_PID_FILE: file } })]),
      'agent:stuck',
    );
    expect(r.error?.code).toBe('Timeout');
    expect(r.error?.message).toBe('The agent "stuck" ran past its time limit (800 ms) and was stopped.');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(pidsIn(file).filter(isRunning)).toEqual([]);
  });

  it('output past maxOutputBytes is stopped', async () => {
    const r = await run(backend([program('loud', 'flood', { maxOutputBytes: 10_000 })]), 'agent:loud');
    expect(r.error?.message).toBe('The agent "loud" wrote more than 10000 bytes and was stopped.');
    expect(r.text.length).toBeLessThanOrEqual(10_000);
  });

  it('a stop ends the whole process tree (its grandchild too)', async () => {
    const file = pidFile();
    const stop = new AbortController();
    const b = backend([program('slow', 'slow', { env: { AGENT_TEST_PID_FILE: file } })]);
    const done = run(b, 'agent:slow', stop.signal);
    await new Promise((r) => setTimeout(r, 400));
    stop.abort();
    const r = await done;
    expect(r.error?.code).toBe('Aborted');
    expect(r.text).toMatch(/^step 1\n/);
    const pids = pidsIn(file);
    expect(pids.length).toBe(2);
    expect(pids.filter(isRunning)).toEqual([]);
  });

  it('an HTTP agent: the prompt posted as JSON, its answer streamed as text or as server-sent events; loopback is local', async () => {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        bodies.push({ body: JSON.parse(raw) as unknown, auth: req.headers.authorization });
        if (req.url === '/sse') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: Hello\n\n');
          res.end('data:  from SSE\n\ndata: [DONE]\n\n');
        } else if (req.url === '/fail') {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('agent busy');
        } else {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('Hello ');
          setTimeout(() => res.end('from text'), 20);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const b = backend([
        { id: 'text', url: `${base}/text`, env: { authorization: 'secret:agent.token' } },
        { id: 'sse', url: `${base}/sse` },
        { id: 'busy', url: `${base}/fail` },
        { id: 'far', url: 'https://agent.example.com/run' },
      ]);
      expect(b.isLocal('agent:text')).toBe(true);
      expect(b.isLocal('agent:far')).toBe(false);
      expect((await run(b, 'agent:text')).text).toBe('Hello from text');
      expect(bodies[0]).toEqual({ body: { prompt: 'owner: hello agent' }, auth: 'token-from-store' });
      expect((await run(b, 'agent:sse')).text).toBe('Hello from SSE');
      expect((await run(b, 'agent:busy')).error?.message).toBe(
        `The agent "busy" at ${base}/fail answered HTTP 503: agent busy`,
      );
    } finally {
      server.close();
    }
  });
});
