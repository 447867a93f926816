// Benchmarks the OpenAI-compatible API against the same router called in-process, on one model, in one run:
//   npm run bench:api -- --model FILE [--runs N] [--max-tokens N] [--threads N] [--gpu auto|false|cuda|vulkan|metal]
// In-process = InferenceRouter.chat streamed directly; API = the same router behind the /v1 handler on a loopback
// HTTP server, streamed with the official `openai` client (SSE, include_usage), as a program would use it. Runs
// alternate (order rotated), one model and one pool for both. Prints per-side medians, then the last lines
// `tokens_per_second_ratio: X` (API ÷ in-process) and `first_token_overhead_ms_p50: Y` (API − in-process, paired).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import OpenAI from 'openai';
import { ApiHandler } from '../main/core/api/api-handler.ts';
import { ApiKeyStore } from '../main/core/api/api-keys.ts';
import { embedFor } from '../main/core/inference/embeddings.ts';
import { LlamaBackend, type GpuChoice } from '../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../main/core/inference/router.ts';
import { planInference } from '../main/core/probe/plan.ts';
import { probeHardware } from '../main/core/probe/probe.ts';
import { botSchema, defaultSettings } from '../main/common/settings-schema.ts';

interface Sample {
  ttftMs: number;
  /** Completion tokens over the whole request time: every overhead counts. */
  tokensPerSecond: number;
  tokens: number;
  /** Process CPU time per token (inference threads, server and client together): overhead without the noise of a busy machine. */
  cpuUsPerToken: number;
}

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    runs: { type: 'string', default: '7' },
    'max-tokens': { type: 'string', default: '128' },
    threads: { type: 'string' },
    gpu: { type: 'string', default: 'auto' },
    'context-size': { type: 'string', default: '2048' },
    prompt: { type: 'string', default: 'Write a short story about a lighthouse keeper and a storm.' },
  },
});
if (!values.model) {
  console.error('usage: npm run bench:api -- --model FILE [--runs N] [--max-tokens N] [--threads N] [--gpu …]');
  process.exit(2);
}
const modelPath = resolve(values.model);
const ref = `llama:${modelPath}`;
const runs = Number(values.runs);
const maxTokens = Number(values['max-tokens']);
const threads = values.threads
  ? Number(values.threads)
  : planInference(await probeHardware({ llamaProbe: false })).threads;
const gpu = (values.gpu === 'false' ? false : values.gpu) as GpuChoice;
const messages = [
  { role: 'system' as const, content: 'You are Bench, a helpful assistant.' },
  { role: 'user' as const, content: values.prompt },
];
const sampling = { maxTokens, temperature: 0.8, seed: 42 };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number, d = 1) => n.toFixed(d);
const sample = (start: number, first: number, end: number, tokens: number, cpu: NodeJS.CpuUsage): Sample => ({
  ttftMs: first - start,
  tokensPerSecond: (tokens * 1000) / (end - start),
  tokens,
  cpuUsPerToken: (cpu.user + cpu.system) / Math.max(1, tokens),
});

async function main(): Promise<void> {
  let llama: Llama;
  try {
    llama = await getLlama({ gpu, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error });
  } catch {
    llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error });
  }
  const backend = new LlamaBackend({
    threads,
    gpu,
    contextSize: Number(values['context-size']),
    sequences: 2,
    maxLoaded: 1,
    loadLlama: async () => llama,
  });
  await backend.ensureModel(ref);
  const settings = defaultSettings();
  settings.api = { ...settings.api, requestsPerMinute: 1_000_000 };
  const router = new InferenceRouter({ backends: [backend], getSettings: () => settings });
  const bot = botSchema.parse({ id: 'bench', displayName: 'Bench', model: ref, maxTokens });

  const inProcess = async (): Promise<Sample> => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    let first = 0;
    let tokens = 0;
    for await (const c of router.chat({ bot, messages, sampling })) {
      if (c.type === 'text' && first === 0) first = performance.now();
      if (c.type === 'done') tokens = c.stats.completionTokens;
    }
    return sample(start, first, performance.now(), tokens, process.cpuUsage(cpu));
  };

  const dir = mkdtempSync(join(tmpdir(), 'bench-api-'));
  const keys = new ApiKeyStore({ file: join(dir, 'api-keys.json') });
  const { key } = await keys.create('bench');
  const handler = new ApiHandler({
    settings: () => settings,
    keys,
    inference: {
      router,
      listModels: (signal) => router.listModels(signal),
      embed: (r) => embedFor({ backendFor: (m) => router.backendFor(m), audit: undefined, now: Date.now }, r),
    },
  });
  const server = createServer(
    (req, res) => void handler.handle(req, res, new URL(req.url ?? '/', 'http://x').pathname),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const client = new OpenAI({ apiKey: key, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });

  const viaApi = async (): Promise<Sample> => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    let first = 0;
    let tokens = 0;
    const stream = await client.chat.completions.create({
      model: ref,
      messages,
      max_tokens: maxTokens,
      temperature: sampling.temperature,
      seed: sampling.seed,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      if (first === 0 && chunk.choices[0]?.delta.content) first = performance.now();
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
    return sample(start, first, performance.now(), tokens, process.cpuUsage(cpu));
  };

  console.log(`model: ${modelPath}`);
  console.log(
    `device: ${llama.gpu === false ? 'CPU' : llama.gpu}; threads ${threads}; ${maxTokens} tokens a request; ${runs} runs each, alternating`,
  );
  await inProcess(); // warm-up: page cache, first evaluation, the HTTP connection
  await viaApi();
  const local: Sample[] = [];
  const api: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      local.push(await inProcess());
      api.push(await viaApi());
    } else {
      api.push(await viaApi());
      local.push(await inProcess());
    }
  }
  const line = (name: string, xs: Sample[]) =>
    console.log(
      `${name.padEnd(11)} first token p50 ${fmt(median(xs.map((x) => x.ttftMs)), 2)} ms  ${fmt(median(xs.map((x) => x.tokensPerSecond)))} tok/s p50 (${median(xs.map((x) => x.tokens))} tokens, ${fmt(median(xs.map((x) => x.cpuUsPerToken)))} CPU µs/token)`,
    );
  line('in-process', local);
  line('api', api);
  const ratio = median(api.map((x) => x.tokensPerSecond)) / median(local.map((x) => x.tokensPerSecond));
  const overhead = median(api.map((x, i) => x.ttftMs - local[i]!.ttftMs));
  const cpuRatio = median(local.map((x) => x.cpuUsPerToken)) / median(api.map((x) => x.cpuUsPerToken));
  console.log(`CPU-time ratio (in-process CPU per token ÷ API CPU per token): ${fmt(cpuRatio, 3)}`);
  console.log(`tokens_per_second_ratio: ${fmt(ratio, 3)}`);
  console.log(`first_token_overhead_ms_p50: ${fmt(overhead, 2)}`);

  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await backend.close();
  await llama.dispose();
  rmSync(dir, { recursive: true, force: true });
}

await main();
