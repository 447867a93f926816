// Benchmarks the inference interface against raw node-llama-cpp on one model, in one run:
//   npm run bench:inference -- --model FILE [--tokens N] [--threads N] [--runs N] [--gpu auto|false|cuda|vulkan|metal]
// Raw = a LlamaChatSession used directly; interface = LlamaBackend (pool, pooled sequences); router = the
// InferenceRouter in front of it. Runs alternate (order rotated) and medians are compared. Then aggregate
// throughput with 1, 2 and 4 parallel requests. The last line is `ratio: X` (interface ÷ raw tokens/s).
import { planInference } from '../main/core/probe/plan.ts';
import { probeHardware } from '../main/core/probe/probe.ts';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { getLlama, LlamaChatSession, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { LlamaBackend, type GpuChoice } from '../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../main/core/inference/router.ts';
import { botSchema, defaultSettings } from '../main/common/settings-schema.ts';
import type { ChatChunk } from '../main/core/inference/types.ts';

interface Sample {
  ttftMs: number;
  /** Completion tokens over the whole request time: every overhead counts. */
  tokensPerSecond: number;
  /** Tokens after the first over the time after the first. */
  decodePerSecond: number;
  tokens: number;
  /** Process CPU time per token (all threads): overhead without the noise of a busy machine. */
  cpuUsPerToken: number;
}

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    tokens: { type: 'string', default: '128' },
    /** Default: the hardware plan's thread count, as the app uses it. */
    threads: { type: 'string' },
    runs: { type: 'string', default: '7' },
    gpu: { type: 'string', default: 'auto' },
    'context-size': { type: 'string', default: '2048' },
    /** Sequences of the interface's context: the parallel requests it serves at once. */
    sequences: { type: 'string', default: '4' },
    prompt: { type: 'string', default: 'Write a short story about a lighthouse keeper and a storm.' },
  },
});
if (!values.model) {
  console.error(
    'usage: npm run bench:inference -- --model FILE [--tokens N] [--threads N] [--runs N] [--sequences N] [--gpu auto|false|cuda|vulkan|metal]',
  );
  process.exit(2);
}
const modelPath = resolve(values.model);
const maxTokens = Number(values.tokens);
const threads = values.threads
  ? Number(values.threads)
  : planInference(await probeHardware({ llamaProbe: false })).threads;
const runs = Number(values.runs);
const contextSize = Number(values['context-size']);
const gpu = (values.gpu === 'false' ? false : values.gpu) as GpuChoice;
const prompt = values.prompt;
const sampling = { maxTokens, temperature: 0.8, seed: 42 };
// The same system prompt on both sides (LlamaChatSession would otherwise add its wrapper's default one).
const systemPrompt = 'You are Bench, a helpful assistant.';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number, d = 1) => n.toFixed(d);

function sample(start: number, first: number, end: number, tokens: number, cpu: NodeJS.CpuUsage): Sample {
  return {
    cpuUsPerToken: (cpu.user + cpu.system) / Math.max(1, tokens),
    ttftMs: first - start,
    tokensPerSecond: (tokens * 1000) / (end - start),
    decodePerSecond: tokens > 1 ? ((tokens - 1) * 1000) / (end - first) : 0,
    tokens,
  };
}

async function main(): Promise<void> {
  let llama: Llama;
  let fallback = '';
  try {
    llama = await getLlama({ gpu, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error });
  } catch (err) {
    fallback = ` (requested ${String(gpu)} failed: ${(err as Error).message})`;
    llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error });
  }
  console.log(`model: ${modelPath}`);
  console.log(
    `device: ${llama.gpu === false ? 'CPU' : llama.gpu}${fallback}; threads ${threads}; ${maxTokens} tokens a request; ${runs} runs each, medians`,
  );

  // Raw: what a careful direct user does: one context, one session (wrapper resolved once), history reset per run.
  const rawModel = await llama.loadModel({ modelPath });
  const rawContext = await rawModel.createContext({ contextSize, sequences: 1, threads });
  const session = new LlamaChatSession({ contextSequence: rawContext.getSequence(), systemPrompt });
  const raw = async (): Promise<Sample> => {
    session.resetChatHistory();
    let tokens = 0;
    let first = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    await session.prompt(prompt, {
      ...sampling,
      onTextChunk: () => {
        if (first === 0) first = performance.now();
      },
      onToken: (t) => (tokens += t.length),
    });
    return sample(start, first, performance.now(), tokens, process.cpuUsage(cpu));
  };

  const backend = new LlamaBackend({
    threads,
    gpu,
    contextSize,
    sequences: Number(values.sequences),
    maxLoaded: 1,
    loadLlama: async () => llama,
  });
  const ref = `llama:${modelPath}`;
  await backend.ensureModel(ref);
  const messages = [
    { role: 'system' as const, content: systemPrompt },
    { role: 'user' as const, content: prompt },
  ];
  const consume = async (stream: AsyncIterable<ChatChunk>): Promise<Sample> => {
    let tokens = 0;
    let first = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    for await (const c of stream) {
      if (c.type !== 'text') continue;
      if (first === 0) first = performance.now();
      tokens += c.tokens;
    }
    return sample(start, first, performance.now(), tokens, process.cpuUsage(cpu));
  };
  const iface = () => consume(backend.chat({ model: ref, messages, sampling }));

  const bot = botSchema.parse({
    id: 'bench',
    displayName: 'Bench',
    model: ref,
    temperature: sampling.temperature,
    maxTokens,
  });
  const router = new InferenceRouter({ backends: [backend], getSettings: () => defaultSettings() });
  const routed = () => consume(router.chat({ bot, messages, sampling }));

  const kinds = { raw, interface: iface, router: routed } as const;
  const names = Object.keys(kinds) as Array<keyof typeof kinds>;
  const results: Record<string, Sample[]> = { raw: [], interface: [], router: [] };
  for (const name of names) await kinds[name](); // warm-up: page cache, first evaluation
  for (let i = 0; i < runs; i++) {
    const order = names.map((_, k) => names[(i + k) % names.length]!);
    for (const name of order) results[name]!.push(await kinds[name]());
  }
  const med = (name: string) => {
    const xs = results[name]!;
    return {
      ttft: median(xs.map((x) => x.ttftMs)),
      tps: median(xs.map((x) => x.tokensPerSecond)),
      decode: median(xs.map((x) => x.decodePerSecond)),
      tokens: median(xs.map((x) => x.tokens)),
      cpu: median(xs.map((x) => x.cpuUsPerToken)),
    };
  };
  const r = med('raw');
  for (const name of names) {
    const m = med(name);
    const vs =
      name === 'raw'
        ? ''
        : `  (×${fmt(m.tps / r.tps, 3)} tokens/s, ${m.ttft - r.ttft >= 0 ? '+' : ''}${fmt(m.ttft - r.ttft, 2)} ms first token vs raw)`;
    console.log(
      `${name.padEnd(9)} first token ${fmt(m.ttft, 2)} ms  ${fmt(m.tps)} tok/s (decode ${fmt(m.decode)} tok/s, ${m.tokens} tokens, ${fmt(m.cpu)} CPU µs/token)${vs}`,
    );
  }

  // Warm every sequence first (its prompt prefix is then reused, as in steady use), then 3 rounds per level.
  await Promise.all(Array.from({ length: 4 }, () => iface()));
  for (const n of [1, 2, 4]) {
    const rounds: Array<{ tps: number; ttft: number }> = [];
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      const all = await Promise.all(Array.from({ length: n }, () => iface()));
      const secs = (performance.now() - start) / 1000;
      rounds.push({ tps: all.reduce((s, x) => s + x.tokens, 0) / secs, ttft: median(all.map((x) => x.ttftMs)) });
    }
    console.log(
      `parallel ${n}: ${fmt(median(rounds.map((x) => x.tps)))} tok/s aggregate, ${fmt(median(rounds.map((x) => x.ttft)))} ms median first token`,
    );
  }

  const ratio = med('interface').tps / r.tps;
  console.log(`router ratio: ${fmt(med('router').tps / r.tps, 3)}`);
  console.log(`CPU-time ratio (raw CPU per token ÷ interface CPU per token): ${fmt(r.cpu / med('interface').cpu, 3)}`);
  await backend.close();
  await rawContext.dispose();
  await rawModel.dispose();
  await llama.dispose();
  console.log(`ratio: ${fmt(ratio, 3)}`);
}

main().catch((err: unknown) => {
  console.error(`bench-inference: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
