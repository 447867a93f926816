// The hardware plan reaches node-llama-cpp: the inference service hands the plan's GPU, GPU layers and context cap
// to the llama backend, every loadModel gets the plan's gpuLayers (0 after a fallback to the CPU, whose reason is
// kept), and the context is sized within the plan's cap. A real CPU Llama does the loading; a proxy records what
// loadModel was given and what GPU the loader was asked for.
import { readFileSync } from 'node:fs';
import { getLlama, LlamaLogLevel, type Llama, type LlamaModelOptions } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { InferenceService } from '../../main/core/inference/inference-service.ts';
import type { GpuChoice } from '../../main/core/inference/llama/llama-backend.ts';
import { planInference, type InferencePlan } from '../../main/core/probe/plan.ts';
import type { HardwareReport } from '../../main/core/probe/report.ts';
import { tinyModel } from '../support/models.ts';

const fixture = (name: string): HardwareReport =>
  JSON.parse(readFileSync(new URL(`../fixtures/hardware/${name}.json`, import.meta.url), 'utf8')) as HardwareReport;

let cpu: Llama;
let model: string;
const services: InferenceService[] = [];

beforeAll(async () => {
  cpu = await getLlama({ gpu: false, build: 'never', maxThreads: 1, logLevel: LlamaLogLevel.error });
  model = await tinyModel({ context: 8192 });
});
afterAll(async () => {
  for (const s of services) await s.stop(1000);
  await cpu.dispose();
});

/** The CPU Llama, reporting `gpu` as the loader was asked for and recording each loadModel's options. */
function recordingLlama(gpu: GpuChoice, loads: LlamaModelOptions[]): Llama {
  return new Proxy(cpu, {
    get(target, prop) {
      if (prop === 'gpu') return gpu === 'auto' ? 'vulkan' : gpu;
      if (prop === 'loadModel') {
        return (options: LlamaModelOptions) => {
          loads.push(options);
          // The CPU build cannot offload: it loads with 0 layers whatever was asked.
          return target.loadModel({ ...options, gpuLayers: 0 });
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function start(plan: InferencePlan, loader: (gpu: GpuChoice) => Promise<Llama>) {
  const settings = defaultSettings();
  settings.inference.threads = 1;
  const asked: GpuChoice[] = [];
  const service = new InferenceService({
    getSettings: () => settings,
    getPlan: async () => ({ report: fixture('amd-vulkan'), plan }),
    modelsDir: '/nonexistent',
    resolveSecret: async () => undefined,
    loadLlama: async ({ gpu }) => {
      asked.push(gpu);
      return loader(gpu);
    },
  });
  services.push(service);
  await service.start(new AbortController().signal);
  return { service, asked, llama: service.llama! };
}

describe('the hardware plan reaches the loader', () => {
  it('loads with the plan’s GPU and gpuLayers, and sizes the context within the plan’s cap', async () => {
    const plan = { ...planInference(fixture('amd-vulkan')), contextTokens: 4096 };
    expect(plan).toMatchObject({ llamaGpu: 'vulkan', gpuLayers: 'max' });
    const loads: LlamaModelOptions[] = [];
    const { asked, llama } = await start(plan, async (gpu) => recordingLlama(gpu, loads));
    const window = await llama.contextWindow(`llama:${model}`);
    expect(asked).toEqual(['vulkan']);
    expect(loads).toEqual([expect.objectContaining({ modelPath: model, gpuLayers: 'max' })]);
    expect(llama.status()).toMatchObject({ requestedGpu: 'vulkan', gpu: 'vulkan', gpuLayers: 'max' });
    expect(window.contextTokens).toBe(4096); // the plan's cap, below the model's trained 8192
  });

  it('passes a partial-offload plan as gpuLayers auto', async () => {
    const plan = planInference(fixture('nvidia-4gb'));
    expect(plan).toMatchObject({ llamaGpu: 'cuda', gpuLayers: 'auto' });
    const loads: LlamaModelOptions[] = [];
    const { llama } = await start(plan, async (gpu) => recordingLlama(gpu, loads));
    await llama.ensureModel(`llama:${model}`);
    expect(loads.map((l) => l.gpuLayers)).toEqual(['auto']);
  });

  it('falls back to the CPU with the reason kept, and then offloads nothing', async () => {
    const plan = planInference(fixture('amd-vulkan'));
    const loads: LlamaModelOptions[] = [];
    const { asked, llama } = await start(plan, async (gpu) => {
      if (gpu !== false) throw Object.assign(new Error('no prebuilt vulkan binary'), { name: 'NoBinaryFoundError' });
      return recordingLlama(false, loads);
    });
    await llama.ensureModel(`llama:${model}`);
    expect(asked).toEqual(['vulkan', false]);
    expect(loads.map((l) => l.gpuLayers)).toEqual([0]);
    expect(llama.status()).toMatchObject({
      requestedGpu: 'vulkan',
      gpu: false,
      gpuLayers: 0,
      fallbackReason: expect.stringMatching(/vulkan failed: no prebuilt vulkan binary; running on the CPU/),
    });
  });
});
