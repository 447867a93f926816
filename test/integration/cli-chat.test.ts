// `agent-room chat <model> "prompt"` as a person runs it: the built CLI streams a real node-llama-cpp
// reply from the generated tiny model (1 thread) and an Ollama test server's reply to stdout, prints the
// stats line on stderr, exits promptly; a missing model is a clear error and exit code 1.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, nodeBin, repoRoot } from '../support/cli.ts';
import { tinyModel } from '../support/models.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

let tiny: string;
beforeAll(async () => {
  tiny = await tinyModel();
});

const STATS = /^time to first token (\d+) ms · ([\d.]+) tokens\/s · (\d+) tokens in [\d.]+ s · (.+)$/m;

/** A temp data folder whose settings pin 1 thread (and point at an Ollama when given), and a temp HOME. */
function setup(settings: Record<string, unknown> = {}): { dataDir: string; env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(join(tmpdir(), 'agent-room-cli-chat-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(join(root, 'home'));
  writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ inference: { threads: 1 }, ...settings }));
  return {
    dataDir,
    env: { HOME: join(root, 'home'), OLLAMA_MODELS: '', OLLAMA_HOST: '127.0.0.1:9', XDG_DATA_HOME: '' },
  };
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = repoRoot,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(nodeBin, [cliPath, ...args], {
      cwd,
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
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('agent-room chat', () => {
  it('streams a llama:<tiny.gguf> reply to stdout, prints the stats line on stderr, and exits 0 promptly', async () => {
    const { dataDir, env } = setup();
    const { code, stdout, stderr, ms } = await run(
      ['--data-dir', dataDir, 'chat', `llama:${tiny}`, 'hi', '--max-tokens', '20'],
      env,
    );
    expect(stderr).toMatch(STATS);
    expect(code).toBe(0);
    expect(stdout.trim().length).toBeGreaterThan(0);
    expect(stdout.endsWith('\n')).toBe(true);
    const m = STATS.exec(stderr)!;
    expect(Number(m[3])).toBe(20); // the tiny model never stops early: exactly --max-tokens
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(m[4]).toBe('llama on cpu, 1 thread(s)');
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1); // nothing but the stats line
    // Native threads do not hold the process: it ends right after the reply (startup ~1.5 s here).
    expect(ms).toBeLessThan(10_000);
  });

  it('takes a plain .gguf path (relative to the working folder) and a system prompt', async () => {
    const { dataDir, env } = setup();
    const { code, stdout, stderr } = await run(
      ['--data-dir', dataDir, 'chat', basename(tiny), 'hello', '--max-tokens', '5', '--system', 'Be brief.'],
      env,
      dirname(tiny),
    );
    expect(code).toBe(0);
    expect(stdout.trim().length).toBeGreaterThan(0);
    expect(STATS.exec(stderr)?.[3]).toBe('5');
  });

  it('streams an Ollama reply with the prompt, system text and token limit it was given', async () => {
    const ollama = await OllamaTestServer.start({ models: [fakeModel('tiny:latest')], tokenDelayMs: 5 });
    cleanup.push(() => ollama.close());
    const { dataDir, env } = setup({ endpoints: { ollama: [{ id: 'local', url: ollama.url }] } });
    const { code, stdout, stderr } = await run(
      [
        '--data-dir',
        dataDir,
        'chat',
        'ollama:tiny',
        'hello there',
        '--system',
        'Answer in English.',
        '--max-tokens',
        '64',
      ],
      env,
    );
    expect(code).toBe(0);
    expect(stdout).toBe('Echo: hello there\n');
    expect(STATS.exec(stderr)).toMatchObject({ 3: '3', 4: 'ollama' });
    const body = ollama.requestsTo('/api/chat').at(-1)?.body as {
      messages: unknown[];
      options: { num_predict?: number };
      stream: boolean;
    };
    expect(body.messages).toEqual([
      { role: 'system', content: 'Answer in English.' },
      { role: 'user', content: 'hello there' },
    ]);
    expect(body.options.num_predict).toBe(64);
    expect(body.stream).toBe(true);
  });

  it('finds a model by the name `agent-room models` shows', async () => {
    const ollama = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
    cleanup.push(() => ollama.close());
    const { dataDir, env } = setup({ endpoints: { ollama: [{ id: 'local', url: ollama.url }] } });
    const { code, stdout } = await run(['--data-dir', dataDir, 'chat', 'qwen2.5:0.5b', 'ping'], env);
    expect(code).toBe(0);
    expect(stdout).toBe('Echo: ping\n');
  });

  it('a missing model: a clear error with what to do, exit code 1, nothing on stdout', async () => {
    const { dataDir, env } = setup();
    const missingFile = join(dataDir, 'models', 'gone.gguf');
    const file = await run(['--data-dir', dataDir, 'chat', missingFile, 'hi'], env);
    expect(file.code).toBe(1);
    expect(file.stdout).toBe('');
    expect(file.stderr).toContain(`The model file ${missingFile} does not exist.`);
    expect(file.stderr).toMatch(/agent-room models pull/);

    const name = await run(['--data-dir', dataDir, 'chat', 'no-such-model', 'hi'], env);
    expect(name.code).toBe(1);
    expect(name.stderr).toMatch(
      /No model called "no-such-model" here.*\nRun `agent-room models` to see the references/,
    );

    const noOllama = await run(['--data-dir', dataDir, 'chat', 'ollama:tiny', 'hi'], env);
    expect(noOllama.code).toBe(1);
    expect(noOllama.stderr).toMatch(/No Ollama server is configured or running for ollama:tiny\.\nStart Ollama/);
  });

  it('an Ollama tag the server does not have: says how to pull it, exit code 1', async () => {
    const ollama = await OllamaTestServer.start();
    cleanup.push(() => ollama.close());
    const { dataDir, env } = setup({ endpoints: { ollama: [{ id: 'local', url: ollama.url }] } });
    const { code, stderr } = await run(['--data-dir', dataDir, 'chat', 'ollama:llama3.2:3b', 'hi'], env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/llama3\.2:3b/);
    expect(stderr).toMatch(/pull/);
  });
});
