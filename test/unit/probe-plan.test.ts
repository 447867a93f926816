// Table-driven tests of the inference plan over recorded hardware reports (test/fixtures/hardware).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODEL_TIERS, planInference, type PlanPreferences } from '../../main/core/probe/plan.ts';
import type { HardwareReport } from '../../main/core/probe/report.ts';
import { formatProbe } from '../../main/core/probe/format.ts';

const fixture = (name: string): HardwareReport =>
  JSON.parse(readFileSync(new URL(`../fixtures/hardware/${name}.json`, import.meta.url), 'utf8')) as HardwareReport;

interface Row {
  fixture: string;
  prefs?: PlanPreferences;
  backend: string;
  llamaGpu: string | false;
  threads: number;
  gpuLayers: 'max' | 'auto' | 0;
  tier: string;
  reason: RegExp;
}

const table: Row[] = [
  {
    fixture: 'apple-m2-16gb',
    backend: 'metal',
    llamaGpu: 'metal',
    threads: 3,
    gpuLayers: 'max',
    tier: 'l',
    reason: /Metal on Apple M2: unified memory/,
  },
  {
    fixture: 'nvidia-24gb',
    backend: 'cuda',
    llamaGpu: 'cuda',
    threads: 14,
    gpuLayers: 'max',
    tier: 'xl',
    reason: /CUDA on GeForce RTX 4090/,
  },
  {
    fixture: 'nvidia-4gb',
    backend: 'cuda',
    llamaGpu: 'cuda',
    threads: 5,
    gpuLayers: 'auto',
    tier: 'm',
    reason: /offloaded as they fit/,
  },
  {
    fixture: 'amd-vulkan',
    backend: 'vulkan',
    llamaGpu: 'vulkan',
    threads: 7,
    gpuLayers: 'max',
    tier: 'xl',
    reason: /VULKAN on Radeon RX 7800 XT/,
  },
  {
    fixture: 'intel-igpu',
    backend: 'cpu',
    llamaGpu: false,
    threads: 3,
    gpuLayers: 0,
    tier: 'm',
    reason: /integrated GPU sharing system memory/,
  },
  {
    fixture: 'cpu-only-8gb',
    backend: 'cpu',
    llamaGpu: false,
    threads: 3,
    gpuLayers: 0,
    tier: 'm',
    reason: /No GPU found/,
  },
  {
    fixture: 'cpu-only-64gb',
    backend: 'cpu',
    llamaGpu: false,
    threads: 16,
    gpuLayers: 0,
    tier: 'l',
    reason: /Matrox .* is not a GPU llama\.cpp can compute on/,
  },
  {
    fixture: 'windows-arm',
    backend: 'cpu',
    llamaGpu: false,
    threads: 10,
    gpuLayers: 0,
    tier: 'l',
    reason: /no vulkan build for win32-arm64/,
  },
  {
    fixture: 'this-machine-2core',
    backend: 'cpu',
    llamaGpu: false,
    threads: 1,
    gpuLayers: 0,
    tier: 's',
    reason: /cuda \(NoBinaryFoundError\), vulkan \(NoBinaryFoundError\)/,
  },
  {
    fixture: 'nvidia-no-driver',
    backend: 'cpu',
    llamaGpu: false,
    threads: 3,
    gpuLayers: 0,
    tier: 'm',
    reason: /cuda binary is not loadable \(NoBinaryFoundError\); no NVIDIA driver was found/,
  },
  {
    fixture: 'nvidia-1gb',
    backend: 'cpu',
    llamaGpu: false,
    threads: 1,
    gpuLayers: 0,
    tier: 's',
    reason: /1024 MiB VRAM, too small/,
  },
  {
    fixture: 'cpu-with-ollama',
    prefs: { preferOllama: true },
    backend: 'ollama',
    llamaGpu: false,
    threads: 5,
    gpuLayers: 0,
    tier: 'l',
    reason: /Ollama 0\.12\.6 answers .* preferred/,
  },
  {
    fixture: 'cpu-with-ollama',
    backend: 'cpu',
    llamaGpu: false,
    threads: 5,
    gpuLayers: 0,
    tier: 'l',
    reason: /set inference\.preferOllama/,
  },
  {
    fixture: 'this-machine-2core',
    prefs: { preferOllama: true },
    backend: 'cpu',
    llamaGpu: false,
    threads: 1,
    gpuLayers: 0,
    tier: 's',
    reason: /preferred but does not answer .*ECONNREFUSED/,
  },
];

describe('planInference', () => {
  it.each(table)('$fixture $prefs → $backend, $threads threads, layers $gpuLayers, tier $tier', (row) => {
    const report = fixture(row.fixture);
    const plan = planInference(report, row.prefs);
    expect(plan.backend).toBe(row.backend);
    expect(plan.llamaGpu).toBe(row.llamaGpu);
    expect(plan.threads).toBe(row.threads);
    expect(plan.gpuLayers).toBe(row.gpuLayers);
    expect(plan.tier).toBe(row.tier);
    expect(plan.reasons.join('\n')).toMatch(row.reason);
    // Invariants on every machine.
    expect(plan.threads).toBeGreaterThanOrEqual(1);
    expect(plan.threads).toBeLessThanOrEqual(report.cpu.physicalCores);
    expect(plan.maxLoadedModels).toBeGreaterThanOrEqual(1);
    expect(plan.recommended.sizeMiB).toBeLessThan(plan.memoryBudgetMiB);
    expect(plan.recommended.llama).toMatch(/^hf:[\w.-]+\/[\w.-]+:Q4_K_M$/);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('never uses more threads than cores on 1- and 2-core machines', () => {
    for (const cores of [1, 2]) {
      const report = fixture('this-machine-2core');
      report.cpu = { ...report.cpu, physicalCores: cores, logicalCores: cores, performanceCores: cores };
      expect(planInference(report).threads).toBe(1);
    }
  });

  it('takes overrides from settings and says so', () => {
    const plan = planInference(fixture('this-machine-2core'), {
      threads: 2,
      maxLoadedModels: 1,
      memoryBudgetMiB: 3000,
    });
    expect(plan).toMatchObject({ threads: 2, maxLoadedModels: 1, memoryBudgetMiB: 3000, tier: 's' });
    expect(plan.reasons).toEqual(
      expect.arrayContaining(['2 thread(s) from settings.', 'Memory budget 3000 MiB from settings.']),
    );
  });

  it('falls back to Vulkan when the CUDA binary does not load on an NVIDIA GPU', () => {
    const report = fixture('nvidia-24gb');
    report.llamaGpu.tried = report.llamaGpu.tried.map((t) =>
      t.gpu === 'cuda'
        ? { gpu: 'cuda', loadable: false, errorName: 'NoBinaryFoundError', error: 'NoBinaryFoundError' }
        : t,
    );
    const plan = planInference(report);
    expect(plan.backend).toBe('vulkan');
    expect(plan.reasons.join('\n')).toMatch(/GPU not used for cuda: .*NoBinaryFoundError/);
  });

  it('recommends real models for every tier, smallest first', () => {
    expect(MODEL_TIERS.map((t) => t.tier)).toEqual(['xs', 's', 'm', 'l', 'xl', 'xxl']);
    for (const t of MODEL_TIERS) expect(t.ollama).toMatch(/^[\w.]+:\d+(\.\d+)?b$/);
  });
});

describe('formatProbe', () => {
  it('prints hardware, node-llama-cpp, Ollama, plan and reasons', () => {
    const report = fixture('this-machine-2core');
    const text = formatProbe(report, planInference(report));
    expect(text).toMatch(/^Hardware\n {2}OS +Debian GNU\/Linux 12 \(linux-x64\)/);
    expect(text).toMatch(/GPU +none found/);
    expect(text).toMatch(/cuda +not loadable: NoBinaryFoundError/);
    expect(text).toMatch(/Backend +cpu/);
    expect(text).toMatch(/Threads +1/);
    expect(text).toMatch(
      /Recommended +Qwen2\.5 1\.5B Instruct .*llama:hf:Qwen\/Qwen2\.5-1\.5B-Instruct-GGUF:Q4_K_M \| ollama:qwen2\.5:1\.5b/,
    );
    expect(text).toMatch(/Reasons\n {2}- No GPU found/);
  });
});
