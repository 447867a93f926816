// `agent-room pipeline run|list` as a person runs them: the built CLI with a data folder whose settings hold a
// three-stage pipeline, the first and third stages on real node-llama-cpp generation (the tiny model, 1 thread, few
// tokens), the second on the scripted OpenAI-compatible server answering {"category":"complex"} for a request that says
// "hard" and {"category":"simple"} otherwise, so the third stage (`category == 'complex'`) is skipped for one request
// and runs for the other. Unknown pipelines and failing stages are clear errors with exit code 1.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, nodeBin, repoRoot } from '../support/cli.ts';
import { tinyModel } from '../support/models.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

const CATEGORY = {
  type: 'object',
  properties: { category: { enum: ['simple', 'complex'] } },
  required: ['category'],
  additionalProperties: false,
};

let judge: OpenAITestServer;
let root: string;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let tiny: string;

beforeAll(async () => {
  tiny = `llama:${await tinyModel()}`;
  judge = await OpenAITestServer.start({
    models: ['classifier'],
    reply: ({ lastUser }) => JSON.stringify({ category: /\bhard\b/i.test(lastUser) ? 'complex' : 'simple' }),
  });
  root = mkdtempSync(join(tmpdir(), 'agent-room-cli-pipeline-'));
  dataDir = join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(join(root, 'home'));
  env = { HOME: join(root, 'home'), OLLAMA_MODELS: '', OLLAMA_HOST: '127.0.0.1:9', XDG_DATA_HOME: '' };
  const settings = {
    inference: { threads: 1 },
    endpoints: { openai: [{ id: 'judge', url: judge.url }] },
    pipelines: [
      {
        name: 'triage',
        description: 'draft, classify, review the hard ones',
        stages: [
          { name: 'draft', model: tiny, prompt: 'Answer briefly: {{input}}', maxTokens: 12 },
          {
            name: 'classify',
            model: 'openai:judge/classifier',
            prompt: 'Simple or complex? {{input}}',
            schema: CATEGORY,
          },
          {
            name: 'review',
            model: tiny,
            prompt: 'Improve the answer to "{{input}}": {{draft}}',
            condition: "category == 'complex'",
            maxTokens: 12,
          },
        ],
      },
      { name: 'broken', stages: [{ name: 'classify', model: 'openai:judge/missing', prompt: '{{input}}' }] },
    ],
  };
  writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settings));
});
afterAll(async () => {
  await judge?.close();
  rmSync(root, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(nodeBin, [cliPath, '--data-dir', dataDir, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface RunJson {
  pipeline: string;
  input: string;
  stages: Array<{
    name: string;
    model: string;
    skipped: boolean;
    reason?: string;
    output: string;
    json?: unknown;
    durationMs: number;
  }>;
  answer: string;
}

describe('agent-room pipeline run --json', () => {
  it('skips the review of a simple request: the classification is the answer', async () => {
    const { code, stdout, stderr } = await run(['pipeline', 'run', 'triage', 'what is two plus two?', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as RunJson;
    expect(r.pipeline).toBe('triage');
    expect(r.input).toBe('what is two plus two?');
    expect(r.stages.map((s) => [s.name, s.skipped])).toEqual([
      ['draft', false],
      ['classify', false],
      ['review', true],
    ]);
    const [draft, classify, review] = r.stages;
    expect(draft!.model).toBe(tiny);
    expect(draft!.output.length).toBeGreaterThan(0); // 12 tokens of the tiny model's real generation
    expect(draft!.json).toBeUndefined();
    expect(classify).toMatchObject({ model: 'openai:judge/classifier', json: { category: 'simple' } });
    expect(review).toMatchObject({ skipped: true, reason: "category == 'complex' is false", output: '' });
    expect(r.answer).toBe('{"category":"simple"}');
    for (const s of r.stages) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    // The classifier was asked for JSON of the schema, with the draft's request in its prompt.
    const body = judge.chatRequests().at(-1)!.body!;
    expect(body.response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
    expect(JSON.stringify(body.messages)).toContain('Simple or complex? what is two plus two?');
  });

  it('runs the review of a hard request on the tiny model: its output is the answer', async () => {
    const { code, stdout } = await run(['pipeline', 'run', 'triage', 'a hard question about entropy', '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as RunJson;
    expect(r.stages.map((s) => s.skipped)).toEqual([false, false, false]);
    expect(r.stages[1]!.json).toEqual({ category: 'complex' });
    expect(r.stages[2]!.model).toBe(tiny);
    expect(r.answer).toBe(r.stages[2]!.output);
    expect(r.answer.length).toBeGreaterThan(0);
  });
});

describe('agent-room pipeline run', () => {
  it("prints each stage's name and output as it streams, and a summary on stderr", async () => {
    const { code, stdout, stderr } = await run(['pipeline', 'run', 'triage', 'an easy one']);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`── draft (${tiny})`);
    expect(stdout).toContain('── classify (openai:judge/classifier)\n{"category":"simple"}\n');
    expect(stdout.endsWith("── review skipped: category == 'complex' is false\n")).toBe(true);
    expect(stderr).toMatch(/^3 stages, 2 ran, 1 skipped, in [\d.]+ s\n$/);
  });

  it('says which pipelines there are when the name is unknown, and exits 1', async () => {
    const { code, stdout, stderr } = await run(['pipeline', 'run', 'nope', 'x']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('No pipeline is called "nope". Pipelines:\n- triage: draft → classify → review');
  });

  it('names the stage that failed, and exits 1 (--json: what ran, and the error)', async () => {
    const text = await run(['pipeline', 'run', 'broken', 'x']);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/Stage "classify" failed: .*missing/);
    const json = await run(['pipeline', 'run', 'broken', 'x', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ pipeline: 'broken', stages: [], error: { stage: 'classify' } });
  });
});

describe('agent-room audit after pipeline runs', () => {
  it("holds each stage's call, as the bot made for its model", async () => {
    const { code, stdout } = await run(['audit', '--json']);
    expect(code).toBe(0);
    const bots = new Set((JSON.parse(stdout) as Array<{ botId: string }>).map((e) => e.botId));
    for (const b of ['pipeline.triage.draft', 'pipeline.triage.classify', 'pipeline.triage.review'])
      expect(bots.has(b), b).toBe(true);
  });
});

describe('agent-room pipeline list', () => {
  it('lists the pipelines with their stages, or as JSON', async () => {
    const text = await run(['pipeline', 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')).toEqual([
      'triage — draft, classify, review the hard ones',
      `  1. draft: ${tiny}`,
      '  2. classify: openai:judge/classifier, answers JSON',
      `  3. review: ${tiny}, only when category == 'complex'`,
      'broken',
      '  1. classify: openai:judge/missing',
      '',
    ]);
    const json = await run(['pipeline', 'list', '--json']);
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((p) => p.name)).toEqual(['triage', 'broken']);
  });
});
