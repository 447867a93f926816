// What node-llama-cpp's resolver says of each candidate model file on the probed hardware: whether its weights and a
// 4096-token context fit, with how many layers on the GPU and how much RAM and VRAM, and its compatibility score.
// The probe's memory is injected (getRamState / getVramState), so the answer is about the reported machine, not the
// one running the code (tests pass 2 GB laptops and 24 GB GPUs alike).
import type { GgufInsights } from 'node-llama-cpp';
import { candidateUri, type CandidateFile, type CandidateModel } from './model-candidates.ts';
import { writeCandidateHeader } from './model-headers.ts';
import type { InferencePlan } from './plan.ts';
import type { HardwareReport } from './report.ts';

const MIB = 1024 * 1024;
/** What the homeserver, the app and the bots keep for themselves out of the memory available now. */
export const APP_RESERVE_MIB = 512;
/** The smallest context a recommended model must fit with. */
export const MIN_CONTEXT_TOKENS = 4096;

/** The machine as node-llama-cpp's resolver takes it (its `hardwareOverrides`), and what it was made from. */
export interface FitHardware {
  gpu: 'metal' | 'cuda' | 'vulkan' | false;
  ramTotalMiB: number;
  /** RAM a model may take: what the probe found available, less the app's reserve (and the settings' budget). */
  ramFreeMiB: number;
  vramMiB: number;
  /** Apple Silicon: VRAM is RAM. */
  unified: boolean;
  /** CPU threads inference gets: bounds the model size that answers at chat speed on the CPU. */
  threads: number;
}

export function fitHardware(report: HardwareReport, plan: InferencePlan, budgetMiB?: number): FitHardware {
  let ramFree = Math.max(0, report.memory.freeMiB - APP_RESERVE_MIB);
  if (budgetMiB && budgetMiB > 0) ramFree = Math.min(ramFree, budgetMiB);
  const gpu = plan.llamaGpu;
  const unified = gpu === 'metal';
  // The plan's Metal budget is the share of unified memory the GPU may wire; a discrete GPU's VRAM is all its own.
  const vram = !gpu ? 0 : unified ? plan.memoryBudgetMiB : (plan.gpu?.vramMiB ?? 0);
  return {
    gpu,
    ramTotalMiB: report.memory.totalMiB,
    ramFreeMiB: ramFree,
    vramMiB: vram,
    unified,
    threads: plan.threads,
  };
}

/** One candidate file as the resolver scored it for a 4096-token context. */
export interface FileFit {
  model: CandidateModel;
  file: CandidateFile;
  uri: string;
  /** node-llama-cpp's compatibility score, 0 to 1; 0 = the model and context do not fit. */
  score: number;
  /** Bytes of the weights (the file's tensors). */
  modelBytes: number;
  gpuLayers: number;
  totalLayers: number;
  contextTokens: number;
  ramBytes: number;
  vramBytes: number;
}

/** A candidate file node-llama-cpp could not read or estimate. */
export interface FileError {
  model: CandidateModel;
  file: CandidateFile;
  error: string;
}

export type InsightsLoader = (model: CandidateModel, file: CandidateFile) => Promise<GgufInsights>;

/**
 * The default loader: the header-only GGUF of the candidate, written into `dir` and read by node-llama-cpp like a
 * model file. Without
 * weights llama.cpp cannot simulate loading it, so the source is dropped and GgufInsights estimates from the tensor
 * table alone (its heuristic, not a failed simulation and a warning per file).
 */
export function headerInsights(dir: string): InsightsLoader {
  return async (model, file) => {
    const { readGgufFileInfo, GgufInsights } = await import('node-llama-cpp');
    const info = await readGgufFileInfo(await writeCandidateHeader(dir, model, file), { logWarnings: false });
    return GgufInsights.from({ ...info, sourceData: [], source: undefined });
  };
}

function overrides(hw: FitHardware) {
  const vram = hw.vramMiB * MIB;
  return {
    getVramState: async () => ({ total: vram, free: vram, unifiedSize: hw.unified ? vram : 0 }),
    getRamState: async () => ({ total: hw.ramTotalMiB * MIB, free: hw.ramFreeMiB * MIB }),
    // Swap keeps a model loaded but not usable for chat: it does not count.
    getSwapState: async () => ({ total: 0, free: 0 }),
    llamaGpu: hw.gpu,
    llamaSupportsGpuOffloading: hw.gpu !== false,
    // node-llama-cpp's own default padding: 6 % of the VRAM, at most 1 GiB.
    llamaVramPaddingSize: Math.floor(Math.min(vram * 0.06, 1024 * MIB)),
  };
}

/** Scores every file of every candidate; a file that cannot be read or estimated comes back as an error. */
export async function scoreCandidates(
  candidates: readonly CandidateModel[],
  hw: FitHardware,
  load: InsightsLoader,
): Promise<{ fits: FileFit[]; errors: FileError[] }> {
  const fits: FileFit[] = [];
  const errors: FileError[] = [];
  // One at a time: each estimate is CPU work, and the machine may have 2 cores.
  for (const model of candidates) {
    for (const file of model.files) {
      try {
        const insights = await load(model, file);
        const s = await insights.configurationResolver.resolveAndScoreConfig(
          { targetContextSize: MIN_CONTEXT_TOKENS },
          overrides(hw),
        );
        const v = s.resolvedValues;
        fits.push({
          model,
          file,
          uri: candidateUri(model, file.quant),
          score: v.contextSize >= MIN_CONTEXT_TOKENS ? s.compatibilityScore : 0,
          modelBytes: insights.modelSize,
          gpuLayers: v.gpuLayers,
          totalLayers: insights.totalLayers,
          contextTokens: v.contextSize,
          ramBytes: v.totalRamUsage,
          vramBytes: v.totalVramUsage,
        });
      } catch (err) {
        errors.push({ model, file, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return { fits, errors };
}
