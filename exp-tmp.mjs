import { getLlama, LlamaChatSession, LlamaLogLevel } from 'node-llama-cpp';
const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 1, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: process.argv[2] });
const mk = async (n) => { const c = await model.createContext({ contextSize: 2048, sequences: n, threads: 1 }); return new LlamaChatSession({ contextSequence: c.getSequence(), systemPrompt: 'You are Bench, a helpful assistant.' }); };
const s1 = await mk(1), s4 = await mk(4);
const run = async (s) => { s.resetChatHistory(); let n = 0; const c0 = process.cpuUsage(); const t = performance.now();
  await s.prompt('Write a short story about a lighthouse keeper and a storm.', { maxTokens: 256, temperature: 0.8, seed: 42, onToken: (t) => { n += t.length; } });
  const c = process.cpuUsage(c0); return [n * 1000 / (performance.now() - t), (c.user + c.system) / n]; };
const res = { s1: [], s4: [] };
for (let i = 0; i < 15; i++) { res.s1.push(await run(s1)); res.s4.push(await run(s4)); }
const med = (x, k) => x.map((v) => v[k]).sort((a, b) => a - b)[x.length >> 1].toFixed(1);
for (const k of ['s1', 's4']) console.log(k, 'tok/s', med(res[k], 0), 'cpu µs/token', med(res[k], 1));
