// The inference plan: a pure decision from a hardware report (and the person's preferences) to a
// backend, thread count, GPU layer policy, memory budget and recommended models, with the reasons (GPU: plan-gpu.ts).
import { chooseGpu, offloadPolicy, type GpuChoice, type GpuLayersPolicy } from './plan-gpu.ts';
import type { HardwareReport, LlamaGpuKind } from './report.ts';

export type { GpuLayersPolicy };
export type PlanBackend = 'metal' | 'cuda' | 'vulkan' | 'cpu' | 'ollama';
export type MemoryTier = 'xs' | 's' | 'm' | 'l' | 'xl' | 'xxl';

export interface PlanPreferences {
  /** Route through Ollama when a server answers. */
  preferOllama?: boolean;
  /** Overrides; 0 or undefined = from the plan. */
  threads?: number;
  contextTokens?: number;
  maxLoadedModels?: number;
  memoryBudgetMiB?: number;
}

export interface ModelRecommendation {
  label: string;
  /** A node-llama-cpp hf: URI; the bot's model ref is `llama:` followed by it. */
  llama: string;
  /** An Ollama tag. */
  ollama: string;
  /** Approximate file size of the quantized model. */
  sizeMiB: number;
}

/** A row of the tier table: the recommendation for a memory budget, when node-llama-cpp cannot estimate (recommend.ts). */
export interface TierModel extends ModelRecommendation {
  tier: MemoryTier;
  /** Smallest memory budget this tier is recommended for. */
  minBudgetMiB: number;
}

export interface InferencePlan {
  backend: PlanBackend;
  /** What node-llama-cpp's getLlama({ gpu }) gets; also the fallback when the backend is ollama. */
  llamaGpu: LlamaGpuKind | false;
  /** The GPU chosen, when one is used. */
  gpu?: { vendor: string; model: string; vramMiB: number | null };
  threads: number;
  /** What node-llama-cpp's loadModel gets as gpuLayers (0 whenever it runs on the CPU). */
  gpuLayers: GpuLayersPolicy;
  /** Most tokens of context per conversation; each model's is its trained context and the budget's share, at most this. */
  contextTokens: number;
  maxLoadedModels: number;
  memoryBudgetMiB: number;
  tier: MemoryTier;
  /** The model a first run downloads: the tier table's, until recommend.ts puts node-llama-cpp's pick in. */
  recommended: ModelRecommendation;
  /** Who chose `recommended`. */
  recommendedBy: 'node-llama-cpp' | 'tier table';
  /** The tier table's recommendation for every tier, smallest first. */
  tiers: TierModel[];
  reasons: string[];
}

/**
 * The fallback tier table (recommend.ts uses node-llama-cpp's estimate first): real, widely mirrored instruct models
 * in Q4_K_M; sizes are the published file sizes, rounded.
 */
export const MODEL_TIERS: readonly TierModel[] = [
  {
    tier: 'xs',
    minBudgetMiB: 0,
    label: 'Qwen2.5 0.5B Instruct',
    llama: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M',
    ollama: 'qwen2.5:0.5b',
    sizeMiB: 470,
  },
  {
    tier: 's',
    minBudgetMiB: 2048,
    label: 'Qwen2.5 1.5B Instruct',
    llama: 'hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M',
    ollama: 'qwen2.5:1.5b',
    sizeMiB: 1070,
  },
  {
    tier: 'm',
    minBudgetMiB: 4096,
    label: 'Llama 3.2 3B Instruct',
    llama: 'hf:bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M',
    ollama: 'llama3.2:3b',
    sizeMiB: 1930,
  },
  {
    tier: 'l',
    minBudgetMiB: 8192,
    label: 'Qwen2.5 7B Instruct',
    llama: 'hf:bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M',
    ollama: 'qwen2.5:7b',
    sizeMiB: 4470,
  },
  {
    tier: 'xl',
    minBudgetMiB: 14336,
    label: 'Qwen2.5 14B Instruct',
    llama: 'hf:bartowski/Qwen2.5-14B-Instruct-GGUF:Q4_K_M',
    ollama: 'qwen2.5:14b',
    sizeMiB: 8570,
  },
  {
    tier: 'xxl',
    minBudgetMiB: 30720,
    label: 'Qwen2.5 32B Instruct',
    llama: 'hf:bartowski/Qwen2.5-32B-Instruct-GGUF:Q4_K_M',
    ollama: 'qwen2.5:32b',
    sizeMiB: 18930,
  },
];

const MAX_LOADED_MODELS = 4;
/** Starts the reasons about the tier table's pick, which node-llama-cpp's pick replaces (recommend.ts). */
export const TIER_TABLE = 'Tier table:';

export function planInference(report: HardwareReport, prefs: PlanPreferences = {}): InferencePlan {
  const reasons: string[] = [];
  const choice = chooseGpu(report, reasons);
  const ramBudget = ramBudgetMiB(report.memory.totalMiB);
  const offload = offloadPolicy(choice, report, ramBudget, reasons);
  const gpuLayers = offload.gpuLayers;
  let budget = offload.budget;
  if (prefs.memoryBudgetMiB && prefs.memoryBudgetMiB > 0) {
    budget = prefs.memoryBudgetMiB;
    reasons.push(`Memory budget ${budget} MiB from settings.`);
  }

  const threads = chooseThreads(report, prefs, reasons);
  let recommended = tierFor(budget);
  if (!choice) {
    const cap = cpuTierCap(threads);
    if (tierIndex(recommended.tier) > tierIndex(cap)) {
      reasons.push(
        `${TIER_TABLE} recommendation capped at ${tierByName(cap).label}: on ${threads} CPU thread(s) a larger one answers too slowly for chat.`,
      );
      recommended = tierByName(cap);
    }
  }

  let maxLoadedModels = Math.max(
    1,
    Math.min(MAX_LOADED_MODELS, Math.floor(budget / (recommended.sizeMiB * 1.25 + 256))),
  );
  if (prefs.maxLoadedModels && prefs.maxLoadedModels > 0) {
    maxLoadedModels = prefs.maxLoadedModels;
    reasons.push(`At most ${maxLoadedModels} model(s) loaded, from settings.`);
  } else {
    reasons.push(`At most ${maxLoadedModels} model(s) of the recommended size loaded at once within the budget.`);
  }

  const contextTokens = chooseContextTokens(budget, prefs, reasons);
  const backend = chooseBackend(choice, report, prefs, reasons);

  return {
    backend,
    llamaGpu: choice?.kind ?? false,
    ...(choice ? { gpu: { vendor: choice.gpu.vendor, model: choice.gpu.model, vramMiB: choice.gpu.vramMiB } } : {}),
    threads,
    gpuLayers,
    contextTokens,
    maxLoadedModels,
    memoryBudgetMiB: budget,
    tier: recommended.tier,
    recommended,
    recommendedBy: 'tier table',
    tiers: [...MODEL_TIERS],
    reasons,
  };
}

/** node-llama-cpp on the chosen GPU (or the CPU), or Ollama when it is preferred and answers. */
function chooseBackend(
  choice: GpuChoice | undefined,
  report: HardwareReport,
  prefs: PlanPreferences,
  reasons: string[],
): PlanBackend {
  let backend: PlanBackend = choice?.kind ?? 'cpu';
  const o = report.ollama;
  if (prefs.preferOllama && o.reachable) {
    backend = 'ollama';
    reasons.push(
      `Ollama ${o.version ?? ''} answers at ${o.url} and is preferred in settings; node-llama-cpp (${choice?.kind ?? 'cpu'}) is the fallback.`.replace(
        '  ',
        ' ',
      ),
    );
  } else if (prefs.preferOllama) {
    reasons.push(
      `Ollama is preferred but does not answer at ${o.url}${o.error ? ` (${o.error})` : ''}; using node-llama-cpp.`,
    );
  } else if (o.reachable) {
    reasons.push(
      `Ollama ${o.version ?? ''} also answers at ${o.url} with ${o.models?.length ?? 0} model(s); set inference.preferOllama to route through it.`.replace(
        '  ',
        ' ',
      ),
    );
  }
  return backend;
}

/** Leave the OS, the homeserver and the app at least 2 GiB or 35 % of RAM. */
export function ramBudgetMiB(totalMiB: number): number {
  return Math.max(256, totalMiB - Math.max(2048, Math.round(totalMiB * 0.35)));
}

/**
 * Threads: node-llama-cpp's default (at least 4) oversubscribes small machines and generation collapses
 * (MEASURED.md: 1.7 tok/s on 2 cores against 1568 with 1 thread). On 2 cores we take 1 thread: llama.cpp
 * threads meet at a barrier every layer, so a second thread stalls whenever the homeserver, the bots or
 * the UI take the other core (tiny model: 62 tok/s with 2 threads). That costs quiet-machine speed on
 * larger models (1B q8_0: 14 against 22 tok/s), which settings.inference.threads can claim back.
 * Elsewhere: performance cores only (efficiency cores slow every barrier), minus one or two for headroom.
 */
function chooseThreads(report: HardwareReport, prefs: PlanPreferences, reasons: string[]): number {
  if (prefs.threads && prefs.threads > 0) {
    reasons.push(`${prefs.threads} thread(s) from settings.`);
    return Math.max(1, Math.floor(prefs.threads));
  }
  const cores = Math.max(1, report.cpu.performanceCores || report.cpu.physicalCores || 1);
  let threads: number;
  if (cores <= 2) threads = 1;
  else if (cores <= 8) threads = cores - 1;
  else threads = Math.min(16, cores - 2);
  const coreWord = cores === report.cpu.physicalCores ? 'physical' : 'performance';
  reasons.push(
    cores <= 2
      ? `${threads} thread on ${cores} ${coreWord} core(s): more threads than free cores stall llama.cpp (node-llama-cpp's default of 4 collapses here); one core stays free for the homeserver and bots.`
      : `${threads} threads on ${cores} ${coreWord} cores, leaving headroom for the homeserver, bots and UI.`,
  );
  return threads;
}

/**
 * The context cap per conversation. A context's memory grows with its length (the KV cache of a 3B model takes
 * about 110 KiB a token, and the pool keeps 4 conversations per model), so small budgets get shorter ones; the
 * model pool then sizes each model's context within this cap, its trained context and what the budget leaves.
 */
function chooseContextTokens(budgetMiB: number, prefs: PlanPreferences, reasons: string[]): number {
  if (prefs.contextTokens && prefs.contextTokens > 0) {
    reasons.push(`Context up to ${prefs.contextTokens} tokens per conversation, from settings.`);
    return Math.floor(prefs.contextTokens);
  }
  const tokens = budgetMiB >= 16_384 ? 16_384 : budgetMiB >= 4096 ? 8192 : 4096;
  reasons.push(
    `Context up to ${tokens} tokens per conversation within the ${budgetMiB} MiB budget (less where a model was trained on less or its weights leave less room).`,
  );
  return tokens;
}

function cpuTierCap(threads: number): MemoryTier {
  if (threads <= 2) return 's';
  if (threads <= 4) return 'm';
  return 'l';
}

function tierFor(budgetMiB: number): TierModel {
  let best = MODEL_TIERS[0]!;
  for (const t of MODEL_TIERS) if (budgetMiB >= t.minBudgetMiB) best = t;
  return best;
}
const tierIndex = (t: MemoryTier) => MODEL_TIERS.findIndex((m) => m.tier === t);
const tierByName = (t: MemoryTier) => MODEL_TIERS[tierIndex(t)]!;
