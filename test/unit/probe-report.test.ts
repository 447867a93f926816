// The probe turns systeminformation, node-llama-cpp and Ollama answers into a HardwareReport.
import { describe, expect, it } from 'vitest';
import {
  ollamaUrlFromEnv,
  probeHardware,
  type LlamaProbe,
  type SystemInfoSource,
} from '../../main/core/probe/probe.ts';
import { planInference } from '../../main/core/probe/plan.ts';

class NoBinaryFoundError extends Error {
  constructor() {
    super('NoBinaryFoundError');
  }
}

const si = (
  controllers: object[],
  os = { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', arch: 'x64' },
): SystemInfoSource => ({
  cpu: async () => ({
    manufacturer: 'AMD',
    brand: 'EPYC',
    vendor: 'AMD',
    cores: 2,
    physicalCores: 2,
    performanceCores: 2,
  }),
  cpuFlags: async () => 'fpu sse2 avx avx2 avx512f avx512bw',
  mem: async () => ({ total: 24105 * 1048576, free: 100 * 1048576, available: 20000 * 1048576 }),
  graphics: async () => ({ controllers }),
  osInfo: async () => os,
});

const cpuOnlyLlama: LlamaProbe = {
  gpuTypes: async (include) => (include === 'supported' ? [false] : ['cuda', 'vulkan', false]),
  tryLoad: async (gpu) => {
    if (gpu !== false) throw new NoBinaryFoundError();
  },
};

const ollamaFetch = (async (input: string | URL | Request) => {
  const url = String(input);
  if (url.endsWith('/api/version')) return Response.json({ version: '0.12.6' });
  if (url.endsWith('/api/tags'))
    return Response.json({
      models: [
        { name: 'qwen2.5:0.5b', size: 397821319, details: { parameter_size: '494.03M', quantization_level: 'Q4_K_M' } },
      ],
    });
  return new Response('not found', { status: 404 });
}) as typeof fetch;

const refused = (async () => {
  throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:11434') });
}) as typeof fetch;

describe('probeHardware', () => {
  it('reports a CPU-only machine, each GPU binary that failed and why, and no Ollama', async () => {
    const report = await probeHardware({
      si: si([]),
      llamaProbe: cpuOnlyLlama,
      fetch: refused,
      env: {},
      now: () => new Date(0),
    });
    expect(report.cpu).toMatchObject({
      model: 'AMD EPYC',
      physicalCores: 2,
      simd: { avx: true, avx2: true, avx512: true, neon: false },
    });
    expect(report.memory).toEqual({ totalMiB: 24105, freeMiB: 20000 });
    expect(report.gpus).toEqual([]);
    expect(report.llamaGpu).toEqual({
      checked: true,
      supported: [],
      valid: ['cuda', 'vulkan'],
      tried: [
        { gpu: 'cuda', loadable: false, errorName: 'NoBinaryFoundError', error: 'NoBinaryFoundError' },
        { gpu: 'vulkan', loadable: false, errorName: 'NoBinaryFoundError', error: 'NoBinaryFoundError' },
        { gpu: 'cpu', loadable: true },
      ],
    });
    expect(report.ollama).toEqual({
      url: 'http://127.0.0.1:11434',
      reachable: false,
      error: 'fetch failed (connect ECONNREFUSED 127.0.0.1:11434)',
    });
    const plan = planInference(report);
    expect(plan).toMatchObject({ backend: 'cpu', threads: 1 });
    expect(plan.reasons.join('\n')).toMatch(/No GPU found/);
  });

  it('normalizes GPUs and reads Ollama version and models', async () => {
    const report = await probeHardware({
      si: si(
        [
          {
            vendor: 'NVIDIA Corporation',
            model: 'GeForce RTX 4090',
            vram: 24564,
            vramDynamic: false,
            driverVersion: '550.54.14',
          },
          { vendor: 'Intel Corporation', model: 'UHD Graphics 770', vram: 128, vramDynamic: true },
          { vendor: 'VMware', model: 'SVGA II Adapter', vram: 16, vramDynamic: false },
        ],
        { platform: 'darwin', distro: 'macOS', release: '14.5', arch: 'arm64' },
      ),
      llamaProbe: false,
      fetch: ollamaFetch,
      ollamaUrl: 'http://127.0.0.1:11434/',
    });
    expect(report.gpus.map((g) => [g.vendor, g.vramMiB, g.sharedMemory, g.driver])).toEqual([
      ['nvidia', 24564, false, '550.54.14'],
      ['intel', 128, true, null],
      ['other', 16, false, null],
    ]);
    expect(report.appleSilicon).toBe(true);
    expect(report.cpu.simd.neon).toBe(true);
    expect(report.llamaGpu.checked).toBe(false);
    expect(report.ollama).toEqual({
      url: 'http://127.0.0.1:11434',
      reachable: true,
      version: '0.12.6',
      models: [{ name: 'qwen2.5:0.5b', sizeBytes: 397821319, parameterSize: '494.03M', quantization: 'Q4_K_M' }],
    });
  });

  it('records a binary check that hangs as a timeout', async () => {
    const hanging: LlamaProbe = {
      gpuTypes: async () => ['vulkan', false],
      tryLoad: (gpu) => (gpu ? new Promise(() => {}) : Promise.resolve()),
    };
    const report = await probeHardware({ si: si([]), llamaProbe: hanging, fetch: refused, llamaTimeoutMs: 50 });
    expect(report.llamaGpu.tried[0]).toMatchObject({ gpu: 'vulkan', loadable: false, errorName: 'TimeoutError' });
  });

  it('reads OLLAMA_HOST the way Ollama does', () => {
    expect(ollamaUrlFromEnv(undefined)).toBeUndefined();
    expect(ollamaUrlFromEnv('0.0.0.0')).toBe('http://127.0.0.1:11434');
    expect(ollamaUrlFromEnv('box.lan:8080')).toBe('http://box.lan:8080');
    expect(ollamaUrlFromEnv('https://ollama.example.com')).toBe('https://ollama.example.com');
  });
});
