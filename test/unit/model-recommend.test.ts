// The recommended model comes from node-llama-cpp's own fit estimate (GgufInsights and its resolver) over header-only
// GGUF files written from the candidates' metadata, on injected hardware: it changes with the machine and always fits.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufInsights, readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../main/cli/probe-command.ts';
import { MODEL_CANDIDATES, candidateUri } from '../../main/core/probe/model-candidates.ts';
import { fitHardware, headerInsights, type InsightsLoader } from '../../main/core/probe/model-fit.ts';
import { writeCandidateHeader } from '../../main/core/probe/model-headers.ts';
import { planInference } from '../../main/core/probe/plan.ts';
import { recommendModel, withRecommendation } from '../../main/core/probe/recommend.ts';
import type { GpuReport, HardwareReport } from '../../main/core/probe/report.ts';

const GIB = 1024 ** 3;
let dir: string;
let load: InsightsLoader;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-recommend-'));
  load = headerInsights(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const base = JSON.parse(
  readFileSync(new URL('../fixtures/hardware/cpu-only-8gb.json', import.meta.url), 'utf8'),
) as HardwareReport;

/** A machine with `ramGiB` of RAM (70 % of it available), `cores` cores, and optionally a CUDA GPU. */
function machine(ramGiB: number, cores: number, gpu?: { vramMiB: number }): HardwareReport {
  const totalMiB = ramGiB * 1024;
  const gpus: GpuReport[] = gpu
    ? [
        {
          vendor: 'nvidia',
          vendorName: 'NVIDIA',
          model: 'GeForce RTX 4090',
          vramMiB: gpu.vramMiB,
          sharedMemory: false,
          driver: '550.54',
        },
      ]
    : [];
  return {
    ...base,
    cpu: { ...base.cpu, physicalCores: cores, logicalCores: cores * 2, performanceCores: cores },
    memory: { totalMiB, freeMiB: Math.round(totalMiB * 0.7) },
    gpus,
    llamaGpu: {
      checked: true,
      supported: gpu ? ['cuda', 'vulkan'] : [],
      valid: ['cuda', 'vulkan'],
      tried: gpu ? [{ gpu: 'cuda', loadable: true }] : [],
    },
  };
}

describe('candidate metadata snapshots', () => {
  it('come from node-llama-cpp’s own recommended models, with their hf: URIs and quantizations', () => {
    const list = readFileSync(
      join(dirname(fileURLToPath(import.meta.resolve('node-llama-cpp'))), 'cli', 'recommendedModels.js'),
      'utf8',
    );
    const fromList = MODEL_CANDIDATES.filter((m) => m.source.startsWith('node-llama-cpp'));
    expect(fromList.length).toBeGreaterThanOrEqual(6);
    for (const m of fromList) for (const f of m.files) expect(list).toContain(`"${candidateUri(m, f.quant)}"`);
  });

  it.each(MODEL_CANDIDATES.flatMap((m) => m.files.map((f) => ({ m, f, id: `${m.id} ${f.quant}` }))))(
    '$id: node-llama-cpp reads the header-only GGUF, and its weights come within 3 % of the published file',
    async ({ m, f }) => {
      const info = await readGgufFileInfo(await writeCandidateHeader(dir, m, f), { logWarnings: false });
      expect(info.metadata.general.architecture).toBe(m.metadata.architecture);
      expect(info.architectureMetadata.block_count).toBe(m.metadata.blockCount);
      const insights = await GgufInsights.from(info);
      expect(insights.trainContextSize).toBe(m.metadata.contextLength);
      expect(insights.totalLayers).toBe(m.metadata.blockCount + 1);
      expect(Math.abs(insights.modelSize / f.bytes - 1)).toBeLessThan(0.03);
    },
  );
});

describe('recommendModel on injected hardware', () => {
  const rows = [
    { name: '2 GB RAM, CPU only', report: machine(2, 8), model: 'qwen2.5-0.5b' },
    { name: '8 GB RAM, CPU only', report: machine(8, 8), model: 'qwen3-4b' },
    { name: '16 GB RAM, CPU only', report: machine(16, 8), model: 'qwen3-8b' },
    { name: '24 GB GPU', report: machine(32, 8, { vramMiB: 24_564 }), model: 'qwen3-8b' },
  ];
  const picks: { name: string; weights: number }[] = [];

  it.each(rows)('$name → $model, and it fits', async ({ name, report, model }) => {
    const plan = planInference(report);
    const pick = await recommendModel(report, plan, { insights: load });
    expect(pick.by).toBe('node-llama-cpp');
    expect(pick.fit?.model.id).toBe(model);
    const fit = pick.fit!;
    const hw = fitHardware(report, plan);
    expect(fit.score).toBeGreaterThan(0);
    expect(fit.contextTokens).toBeGreaterThanOrEqual(4096);
    expect(fit.ramBytes).toBeLessThanOrEqual(hw.ramFreeMiB * 1024 * 1024);
    expect(fit.vramBytes).toBeLessThanOrEqual(hw.vramMiB * 1024 * 1024);
    expect(pick.recommended.llama).toBe(fit.uri);
    expect(pick.reasons[0]).toMatch(/^Recommended .* by node-llama-cpp's estimate: .* 4096-token context/);
    // Every other candidate is accounted for.
    expect(pick.reasons.filter((r) => r.startsWith('Not chosen:'))).toHaveLength(MODEL_CANDIDATES.length - 1);
    picks.push({ name, weights: fit.modelBytes });
  });

  it('recommends more model as the machine grows: 2 GB < 8 GB < 16 GB < a 24 GB GPU', () => {
    expect(picks.map((p) => p.name)).toEqual(rows.map((r) => r.name));
    for (let i = 1; i < picks.length; i++) expect(picks[i]!.weights).toBeGreaterThan(picks[i - 1]!.weights);
  });

  it('puts every layer on a 24 GB GPU, in the best quantization that does', async () => {
    const report = machine(32, 8, { vramMiB: 24_564 });
    const pick = await recommendModel(report, planInference(report), { insights: load });
    expect(pick.fit).toMatchObject({ gpuLayers: pick.fit!.totalLayers, score: 1 });
    expect(pick.recommended.llama).toBe('hf:Qwen/Qwen3-8B-GGUF:Q8_0');
    expect(pick.recommended.ollama).toBe('qwen3:8b');
  });

  it('says why a model that fits is not chosen on a slow CPU', async () => {
    const report = machine(16, 2); // 1 thread
    const pick = await recommendModel(report, planInference(report), { insights: load });
    expect(pick.fit!.modelBytes).toBeLessThanOrEqual(1.2 * GIB);
    expect(pick.reasons.join('\n')).toMatch(/Qwen 3 8B Q4_K_M fits but is too slow here: .* on 1 CPU thread/);
  });

  it('keeps within the memory budget set in settings', async () => {
    const report = machine(16, 8);
    const pick = await recommendModel(report, planInference(report), { insights: load, memoryBudgetMiB: 3072 });
    expect(pick.fit!.ramBytes).toBeLessThanOrEqual(3 * GIB);
    expect(pick.reasons.join('\n')).toMatch(/Qwen 3 8B Q4_K_M does not fit: .* \(3\.0 GiB available\)/);
  });
});

describe('fallbacks', () => {
  /** The header of `badId` is cut short: node-llama-cpp's reader fails on it as on a broken file. */
  const unreadable =
    (badIds: string[]): InsightsLoader =>
    async (model, file) => {
      if (!badIds.includes(model.id)) return load(model, file);
      const path = join(dir, `broken-${model.id}-${file.quant}.gguf`);
      await writeFile(path, Buffer.from('GGUF\x03\x00\x00\x00'));
      return GgufInsights.from(await readGgufFileInfo(path, { logWarnings: false }));
    };

  it('skips a candidate node-llama-cpp cannot read, and says so', async () => {
    const report = machine(32, 8, { vramMiB: 24_564 });
    const pick = await recommendModel(report, planInference(report), { insights: unreadable(['qwen3-8b']) });
    expect(pick.by).toBe('node-llama-cpp');
    expect(pick.fit?.model.id).toBe('llama3.1-8b');
    expect(pick.reasons.filter((r) => r.startsWith('Not estimated: Qwen 3 8B'))).toHaveLength(3);
  });

  it('falls back to the tier table when no candidate can be estimated', async () => {
    const report = machine(16, 8);
    const plan = planInference(report);
    const pick = await recommendModel(report, plan, { insights: unreadable(MODEL_CANDIDATES.map((m) => m.id)) });
    expect(pick).toMatchObject({ by: 'tier table', recommended: plan.recommended });
    expect(pick.reasons[0]).toMatch(/could not estimate any candidate model .*from the memory tier table instead/);
    const merged = withRecommendation(plan, pick);
    expect(merged.recommendedBy).toBe('tier table');
    expect(merged.recommended).toEqual(plan.recommended);
  });

  it('replaces the tier table’s pick and its reasons in the plan', async () => {
    const report = machine(16, 2);
    const plan = planInference(report);
    expect(plan.reasons.some((r) => r.startsWith('Tier table:'))).toBe(true);
    const merged = withRecommendation(plan, await recommendModel(report, plan, { insights: load }));
    expect(merged.recommendedBy).toBe('node-llama-cpp');
    expect(merged.recommended.llama).toMatch(/^hf:/);
    expect(merged.reasons.some((r) => r.startsWith('Tier table:'))).toBe(false);
    expect(merged.reasons.at(-1)).toMatch(/^Not chosen:/);
  });
});

describe('agent-room probe', () => {
  it('prints the recommended model, who chose it and why the others were not', async () => {
    let out = '';
    expect(
      await runProbe(
        {},
        (s) => (out += s),
        async () => machine(32, 8, { vramMiB: 24_564 }),
      ),
    ).toBe(0);
    expect(out).toMatch(
      /Recommended +Qwen 3 8B Q8_0 \(~\d+ MiB\): llama:hf:Qwen\/Qwen3-8B-GGUF:Q8_0 \| ollama:qwen3:8b/,
    );
    expect(out).toMatch(/Chosen by +node-llama-cpp's fit estimate/);
    expect(out).toMatch(/- Recommended Qwen 3 8B Q8_0 by node-llama-cpp's estimate: 37 of 37 layers on the GPU/);
    expect(out).toMatch(/- Not chosen: Llama 3.1 8B Instruct Q8_0 also fits/);

    let json = '';
    await runProbe(
      { json: true },
      (s) => (json += s),
      async () => machine(2, 8),
    );
    const parsed = JSON.parse(json) as { plan: { recommendedBy: string; recommended: { llama: string } } };
    expect(parsed.plan).toMatchObject({
      recommendedBy: 'node-llama-cpp',
      recommended: { llama: 'hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M' },
    });
  });
});
