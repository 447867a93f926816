// `agent-room models [--json]` and `agent-room models pull <ref>` as a person runs them: the built CLI
// against a temp data folder, a temp HOME (so discovery of other apps' stores is deterministic), the
// local Ollama test server and the local download server.
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../main/common/inference-types.ts';
import { cliPath, nodeBin, repoRoot, startCli } from '../support/cli.ts';
import { DownloadServer } from '../support/download-server.ts';
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

interface Setup {
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** A temp data folder (with settings pointing at the given Ollama) and a temp HOME. */
function setup(settings: Record<string, unknown> = {}): Setup {
  const root = mkdtempSync(join(tmpdir(), 'agent-room-cli-models-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  const home = join(root, 'home');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settings));
  // No real Ollama, Ollama store or XDG folder of this machine leaks into the results.
  return {
    dataDir,
    env: { HOME: home, OLLAMA_MODELS: '', OLLAMA_HOST: '127.0.0.1:9', XDG_DATA_HOME: '', AGENT_ROOM_LOG_LEVEL: 'warn' },
  };
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(nodeBin, [cliPath, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An Ollama store under HOME as Ollama lays it out: a manifest naming a GGUF blob. */
function fakeOllamaStore(home: string, model: string, tag: string, gguf: string): string {
  const store = join(home, '.ollama', 'models');
  const hex = 'ab'.repeat(32);
  mkdirSync(join(store, 'blobs'), { recursive: true });
  mkdirSync(join(store, 'manifests', 'registry.ollama.ai', 'library', model), { recursive: true });
  const blob = join(store, 'blobs', `sha256-${hex}`);
  copyFileSync(gguf, blob);
  const manifest = {
    schemaVersion: 2,
    layers: [{ mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${hex}`, size: statSync(gguf).size }],
  };
  writeFileSync(join(store, 'manifests', 'registry.ollama.ai', 'library', model, tag), JSON.stringify(manifest));
  return blob;
}

describe('agent-room models', () => {
  it('lists our GGUF, one in an Ollama store under HOME and the Ollama server models, as JSON and as a table', async () => {
    const ollama = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b', 397_000_000)] });
    cleanup.push(() => ollama.close());
    const { dataDir, env } = setup({ endpoints: { ollama: [{ id: 'local', url: ollama.url }] } });
    mkdirSync(join(dataDir, 'models'));
    const ours = join(dataDir, 'models', 'tiny.gguf');
    copyFileSync(tiny, ours);
    const blob = fakeOllamaStore(env.HOME!, 'tinyllama', 'latest', tiny);
    const size = statSync(tiny).size;

    const { code, stdout, stderr } = await run(['--data-dir', dataDir, 'models', '--json'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const models = JSON.parse(stdout) as ModelInfo[];
    expect(models).toEqual([
      {
        ref: `llama:${ours}`,
        name: 'tiny',
        backend: 'llama',
        source: 'file',
        location: ours,
        sizeBytes: size,
        local: true,
        loaded: false,
      },
      expect.objectContaining({
        ref: `llama:${blob}`,
        name: 'tinyllama:latest',
        source: 'ollama-store',
        sizeBytes: size,
        local: true,
      }),
      expect.objectContaining({
        ref: 'ollama:qwen2.5:0.5b',
        name: 'qwen2.5:0.5b',
        backend: 'ollama',
        source: 'ollama',
        location: ollama.url,
        sizeBytes: 397_000_000,
        local: true,
      }),
    ]);

    const table = await run(['--data-dir', dataDir, 'models'], env);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SIZE\s+FROM\s+REFERENCE$/);
    expect(lines.find((l) => l.startsWith('tiny '))).toMatch(/511 KB\s+Agent Room\s+llama:\//);
    expect(lines.find((l) => l.startsWith('tinyllama:latest'))).toMatch(/Ollama store\s+llama:.*sha256-/);
    expect(lines.find((l) => l.startsWith('qwen2.5:0.5b'))).toContain(
      `379 MB  Ollama ${ollama.url}  ollama:qwen2.5:0.5b`,
    );
    expect(table.stdout).toContain('3 model(s).');
  });

  it('says how to get a model when there is none', async () => {
    const { dataDir, env } = setup();
    const { code, stdout } = await run(['--data-dir', dataDir, 'models'], env);
    expect(code).toBe(0);
    expect(stdout).toMatch(/No models found.*\nDownload one, e\.g\. .*: agent-room models pull hf:/);
  });
});

describe('agent-room models pull', () => {
  const SIZE = 3 * 1024 * 1024 + 17;
  const file = Buffer.alloc(SIZE, 7);
  file.write('GGUF', 0);

  it('downloads a URL into <data>/models with a progress bar and prints the model reference', async () => {
    const server = await DownloadServer.start({ 'model-q4.gguf': file });
    cleanup.push(() => server.close());
    server.chunkDelayMs = 5;
    const { dataDir, env } = setup();
    const { code, stdout, stderr } = await run(
      ['--data-dir', dataDir, 'models', 'pull', server.fileUrl('model-q4.gguf')],
      env,
    );
    expect(code).toBe(0);
    const dest = join(dataDir, 'models', 'model-q4.gguf');
    expect(readFileSync(dest).equals(file)).toBe(true);
    expect(existsSync(`${dest}.partial`)).toBe(false);
    // Piped, the bar prints a line per tenth: rising percentages, then the whole file.
    const percents = [...stderr.matchAll(/^downloading \[[=> ]+\]\s+(\d+)%/gm)].map((m) => Number(m[1]));
    expect(percents.length).toBeGreaterThanOrEqual(5);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(stderr).toMatch(/\] 100%\s+3\.0 MB \/ 3\.0 MB/);
    expect(stdout).toBe(`Downloaded model-q4.gguf to ${dest}\nModel reference: llama:${dest}\n`);
  });

  it('Ctrl+C cancels cleanly, keeps the partial, and the same command resumes it with a Range request', async () => {
    const server = await DownloadServer.start({ 'big.gguf': file });
    cleanup.push(() => server.close());
    server.chunkDelayMs = 40; // 48 chunks of 64 KiB: about 2 s in all
    const { dataDir, env } = setup();
    const args = ['--data-dir', dataDir, 'models', 'pull', server.fileUrl('big.gguf')];
    const cli = startCli(args, env);
    cleanup.push(() => void cli.child.kill('SIGKILL'));
    await cli.waitFor(/downloading \[[=> ]+\]\s+[1-9]\d*%/);
    cli.child.kill('SIGINT');
    const { code } = await cli.exited;
    expect(code).toBe(130);
    const partial = join(dataDir, 'models', 'big.gguf.partial');
    expect(cli.output()).toMatch(
      new RegExp(
        `Cancelled\\. [\\d.]+ [KM]B kept in ${partial.replace(/[.\\/]/g, '\\$&')}\\. Run \`agent-room models pull .*\` again to resume\\.`,
      ),
    );
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(SIZE);

    server.chunkDelayMs = 0;
    const again = await run(args, env);
    expect(again.code).toBe(0);
    expect(readFileSync(join(dataDir, 'models', 'big.gguf')).equals(file)).toBe(true);
    const gets = server.requests.filter((r) => r.method === 'GET');
    expect(gets.at(-1)!.range).toBe(`bytes=${kept}-`);
  });

  it('pulls ollama:<tag> through the Ollama server with progress', async () => {
    const ollama = await OllamaTestServer.start({ registry: [fakeModel('smollm:135m', 92_000_000)], pullStepMs: 5 });
    cleanup.push(() => ollama.close());
    const { dataDir, env } = setup({ endpoints: { ollama: [{ id: 'local', url: ollama.url }] } });
    const { code, stdout, stderr } = await run(['--data-dir', dataDir, 'models', 'pull', 'ollama:smollm:135m'], env);
    expect(code).toBe(0);
    expect(stdout).toBe('Pulled ollama:smollm:135m into Ollama. Model reference: ollama:smollm:135m\n');
    expect(stderr).toMatch(/^pulling manifest$/m);
    expect(stderr).toMatch(/^pulling [0-9a-f]{12} \[[=> ]+\]\s+50%\s+43\.9 MB \/ 87\.7 MB/m);
    expect(stderr).toMatch(/^pulling [0-9a-f]{12} \[=+\] 100%/m);
    expect(ollama.models.has('smollm:135m')).toBe(true);
    const body = ollama.requestsTo('/api/pull')[0]?.body;
    // ollama-js sends the deprecated `name` field, which the real server still takes.
    expect(body?.model ?? body?.name).toBe('smollm:135m');
    expect(body?.stream).toBe(true);
  });

  it('fails with exit code 1 and says why: a reference that cannot be downloaded, a tag Ollama does not know', async () => {
    const ollama = await OllamaTestServer.start();
    cleanup.push(() => ollama.close());
    const { dataDir, env } = setup({ endpoints: { ollama: [{ id: 'local', url: ollama.url }] } });
    const bad = await run(['--data-dir', dataDir, 'models', 'pull', 'not-a-model'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /Cannot download "not-a-model": not an hf: URI or an http\(s\) URL\.\nUse hf:<user>\/<repo>:<quant>/,
    );
    const missing = await run(['--data-dir', dataDir, 'models', 'pull', 'ollama:nope:1b'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Pull of ollama:nope:1b failed: .*nope:1b/);
    expect(readdirSync(dataDir)).not.toContain('models');
  });
});
