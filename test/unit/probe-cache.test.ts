// The slow part of the probe (node-llama-cpp's GPU binary checks) is cached while the hardware stays the same.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeWithCache } from '../../main/core/probe/probe-cache.ts';
import type { LlamaProbe, SystemInfoSource } from '../../main/core/probe/probe.ts';

const si = (gpuModel?: string): SystemInfoSource => ({
  cpu: async () => ({
    manufacturer: 'AMD',
    brand: 'EPYC',
    vendor: 'AMD',
    cores: 2,
    physicalCores: 2,
    performanceCores: 2,
  }),
  cpuFlags: async () => 'avx avx2',
  mem: async () => ({ total: 8192 * 1048576, free: 4096 * 1048576, available: 4096 * 1048576 }),
  graphics: async () => ({ controllers: gpuModel ? [{ vendor: 'NVIDIA', model: gpuModel, vram: 4096 }] : [] }),
  osInfo: async () => ({ platform: 'linux', distro: 'Debian', release: '12', arch: 'x64' }),
});

function countingProbe(): { probe: LlamaProbe; calls: () => number } {
  let calls = 0;
  return {
    probe: {
      gpuTypes: async () => {
        calls++;
        return [false];
      },
      tryLoad: async () => undefined,
    },
    calls: () => calls,
  };
}

const refused = (async () => {
  throw new TypeError('fetch failed');
}) as typeof fetch;

describe('probeWithCache', () => {
  it('checks the GPU binaries once, then reuses them until the hardware changes or a refresh is asked', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'probe-cache-')), 'state', 'probe.json');
    const { probe, calls } = countingProbe();
    const opts = { llamaProbe: probe, fetch: refused, env: {} };
    const first = await probeWithCache(file, { ...opts, si: si() });
    expect(first.llamaGpu.checked).toBe(true);
    const afterFirst = calls();
    expect(afterFirst).toBeGreaterThan(0);

    const second = await probeWithCache(file, { ...opts, si: si() });
    expect(calls()).toBe(afterFirst);
    expect(second.llamaGpu).toEqual(first.llamaGpu);

    await probeWithCache(file, { ...opts, si: si('GeForce RTX 3050') });
    const afterNewGpu = calls();
    expect(afterNewGpu).toBeGreaterThan(afterFirst);

    await probeWithCache(file, { ...opts, si: si('GeForce RTX 3050'), refresh: true });
    expect(calls()).toBeGreaterThan(afterNewGpu);
  });
});
