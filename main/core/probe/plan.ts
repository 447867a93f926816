// The inference plan: a pure decision from a hardware report (and the person's preferences) to a
// backend, thread count, GPU layer policy, memory budget and recommended models, with the reasons.
import type { GpuReport, HardwareReport, LlamaBinaryCheck, LlamaGpuKind } from './report.ts';

export type PlanBackend = 'metal' | 'cuda' | 'vulkan' | 'cpu' | 'ollama';
export type GpuLayersPolicy = 'max' | 'auto' | 0;
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
  tier: MemoryTier;
  /** Smallest memory budget this tier is recommended for. */
  minBudgetMiB: number;
  label: string;
  /** A node-llama-cpp hf: URI; the bot's model ref is `llama:` followed by it. */
  llama: string;
  /** An Ollama tag. */
  ollama: string;
  /** Approximate file size of the quantized model. */
  sizeMiB: number;
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
  recommended: ModelRecommendation;
  /** The recommendation for every tier, smallest first. */
  tiers: ModelRecommendation[];
  reasons: string[];
}

/** Real, widely mirrored instruct models in Q4_K_M; sizes are the published file sizes, rounded. */
export const MODEL_TIERS: readonly ModelRecommendation[] = [
  { tier: 'xs', minBudgetMiB: 0, label: 'Qwen2.5 0.5B Instruct', llama: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M', ollama: 'qwen2.5:0.5b', sizeMiB: 470 },
  { tier: 's', minBudgetMiB: 2048, label: 'Qwen2.5 1.5B Instruct', llama: 'hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M', ollama: 'qwen2.5:1.5b', sizeMiB: 1070 },
  { tier: 'm', minBudgetMiB: 4096, label: 'Llama 3.2 3B Instruct', llama: 'hf:bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M', ollama: 'llama3.2:3b', sizeMiB: 1930 },
  { tier: 'l', minBudgetMiB: 8192, label: 'Qwen2.5 7B Instruct', llama: 'hf:bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M', ollama: 'qwen2.5:7b', sizeMiB: 4470 },
  { tier: 'xl', minBudgetMiB: 14336, label: 'Qwen2.5 14B Instruct', llama: 'hf:bartowski/Qwen2.5-14B-Instruct-GGUF:Q4_K_M', ollama: 'qwen2.5:14b', sizeMiB: 8570 },
  { tier: 'xxl', minBudgetMiB: 30720, label: 'Qwen2.5 32B Instruct', llama: 'hf:bartowski/Qwen2.5-32B-Instruct-GGUF:Q4_K_M', ollama: 'qwen2.5:32b', sizeMiB: 18930 },
];

/** Below this, a discrete GPU holds too little of even a small model to beat the CPU. */
export const MIN_USEFUL_VRAM_MIB = 2048;
/** At or above this, every layer of the recommended model fits: offload all of them. */
const FULL_OFFLOAD_VRAM_MIB = 8192;
const MAX_LOADED_MODELS = 4;

interface GpuChoice {
  kind: LlamaGpuKind;
  gpu: GpuReport;
}

export function planInference(report: HardwareReport, prefs: PlanPreferences = {}): InferencePlan {
  const reasons: string[] = [];
  const choice = chooseGpu(report, reasons);
  const ramBudget = ramBudgetMiB(report.memory.totalMiB);

  let gpuLayers: GpuLayersPolicy = 0;
  let budget = ramBudget;
  if (choice?.kind === 'metal') {
    gpuLayers = 'max';
    // macOS lets the GPU wire about two thirds of unified memory.
    budget = Math.min(ramBudget, Math.floor(report.memory.totalMiB * 0.65));
    reasons.push(`Metal on ${choice.gpu.model}: unified memory, all layers on the GPU; budget ${budget} MiB of ${report.memory.totalMiB} MiB.`);
  } else if (choice) {
    const vram = choice.gpu.vramMiB ?? 0;
    const usable = vram - Math.min(1228, Math.round(vram * 0.08)); // node-llama-cpp's own VRAM padding
    if (vram >= FULL_OFFLOAD_VRAM_MIB) {
      gpuLayers = 'max';
      budget = usable;
      reasons.push(`${choice.kind.toUpperCase()} on ${choice.gpu.model} (${vram} MiB VRAM): all layers on the GPU; budget ${usable} MiB of VRAM.`);
    } else {
      gpuLayers = 'auto';
      // Partial offload: layers that do not fit stay in RAM, so a model up to twice the VRAM still gains.
      budget = Math.min(ramBudget, usable * 2);
      reasons.push(`${choice.kind.toUpperCase()} on ${choice.gpu.model} (${vram} MiB VRAM): layers offloaded as they fit ('auto'), the rest on the CPU.`);
    }
  } else {
    const failed = report.llamaGpu.tried.filter((t) => t.gpu !== 'cpu' && !t.loadable);
    if (failed.length > 0 && !reasons.some((r) => r.includes('not loadable'))) {
      reasons.push(`node-llama-cpp GPU binaries not loadable here: ${failed.map((t) => `${t.gpu} (${t.errorName ?? 'Error'})`).join(', ')}.`);
    }
    reasons.push(`CPU inference; budget ${ramBudget} MiB of ${report.memory.totalMiB} MiB RAM (the rest is left to the OS, homeserver and app).`);
  }
  if (prefs.memoryBudgetMiB && prefs.memoryBudgetMiB > 0) {
    budget = prefs.memoryBudgetMiB;
    reasons.push(`Memory budget ${budget} MiB from settings.`);
  }

  const threads = chooseThreads(report, prefs, reasons);
  let recommended = tierFor(budget);
  if (!choice) {
    const cap = cpuTierCap(threads);
    if (tierIndex(recommended.tier) > tierIndex(cap)) {
      reasons.push(`Recommended model capped at ${tierByName(cap).label}: on ${threads} CPU thread(s) a larger one answers too slowly for chat.`);
      recommended = tierByName(cap);
    }
  }

  let maxLoadedModels = Math.max(1, Math.min(MAX_LOADED_MODELS, Math.floor(budget / (recommended.sizeMiB * 1.25 + 256))));
  if (prefs.maxLoadedModels && prefs.maxLoadedModels > 0) {
    maxLoadedModels = prefs.maxLoadedModels;
    reasons.push(`At most ${maxLoadedModels} model(s) loaded, from settings.`);
  } else {
    reasons.push(`At most ${maxLoadedModels} model(s) of the recommended size loaded at once within the budget.`);
  }

  const contextTokens = chooseContextTokens(budget, prefs, reasons);

  let backend: PlanBackend = choice?.kind ?? 'cpu';
  const o = report.ollama;
  if (prefs.preferOllama && o.reachable) {
    backend = 'ollama';
    reasons.push(`Ollama ${o.version ?? ''} answers at ${o.url} and is preferred in settings; node-llama-cpp (${choice?.kind ?? 'cpu'}) is the fallback.`.replace('  ', ' '));
  } else if (prefs.preferOllama) {
    reasons.push(`Ollama is preferred but does not answer at ${o.url}${o.error ? ` (${o.error})` : ''}; using node-llama-cpp.`);
  } else if (o.reachable) {
    reasons.push(`Ollama ${o.version ?? ''} also answers at ${o.url} with ${o.models?.length ?? 0} model(s); set inference.preferOllama to route through it.`.replace('  ', ' '));
  }

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
    tiers: [...MODEL_TIERS],
    reasons,
  };
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
  reasons.push(`Context up to ${tokens} tokens per conversation within the ${budgetMiB} MiB budget (less where a model was trained on less or its weights leave less room).`);
  return tokens;
}

function cpuTierCap(threads: number): MemoryTier {
  if (threads <= 2) return 's';
  if (threads <= 4) return 'm';
  return 'l';
}

function tierFor(budgetMiB: number): ModelRecommendation {
  let best = MODEL_TIERS[0]!;
  for (const t of MODEL_TIERS) if (budgetMiB >= t.minBudgetMiB) best = t;
  return best;
}
const tierIndex = (t: MemoryTier) => MODEL_TIERS.findIndex((m) => m.tier === t);
const tierByName = (t: MemoryTier) => MODEL_TIERS[tierIndex(t)]!;

/** Which llama.cpp GPU kinds could drive a GPU of this vendor, best first. */
function kindsFor(gpu: GpuReport, report: HardwareReport): LlamaGpuKind[] {
  if (gpu.vendor === 'apple') return report.appleSilicon ? ['metal'] : [];
  if (gpu.vendor === 'nvidia') return ['cuda', 'vulkan'];
  if (gpu.vendor === 'amd' || gpu.vendor === 'intel' || gpu.vendor === 'qualcomm') return ['vulkan'];
  return [];
}

function binaryCheck(report: HardwareReport, kind: LlamaGpuKind): LlamaBinaryCheck | undefined {
  return report.llamaGpu.tried.find((t) => t.gpu === kind);
}

/** Picks the best usable GPU, and says for every GPU not used why not. */
function chooseGpu(report: HardwareReport, reasons: string[]): GpuChoice | undefined {
  const platformArch = `${report.os.platform}-${report.os.arch}`;
  if (report.gpus.length === 0 && !report.appleSilicon) {
    reasons.push('No GPU found: systeminformation reports no display controller.');
  }
  const gpus = [...report.gpus].sort((a, b) => (b.vramMiB ?? 0) - (a.vramMiB ?? 0));
  for (const gpu of gpus) {
    const name = `${gpu.vendorName || gpu.vendor} ${gpu.model}`.trim();
    const kinds = kindsFor(gpu, report);
    if (kinds.length === 0) {
      reasons.push(`GPU not used: ${name} is not a GPU llama.cpp can compute on (virtual or unsupported adapter).`);
      continue;
    }
    if (gpu.vendor === 'intel' && gpu.sharedMemory && !/arc/i.test(gpu.model)) {
      reasons.push(`GPU not used: ${name} is an integrated GPU sharing system memory; Vulkan offload there is rarely faster than the CPU.`);
      continue;
    }
    if (!gpu.sharedMemory && (gpu.vramMiB ?? 0) < MIN_USEFUL_VRAM_MIB) {
      reasons.push(`GPU not used: ${name} has ${gpu.vramMiB ?? 'unknown'} MiB VRAM, too small (under ${MIN_USEFUL_VRAM_MIB} MiB) to hold a useful share of a model.`);
      continue;
    }
    for (const kind of kinds) {
      const ok = binaryUsable(report, kind);
      if (ok === true) return { kind, gpu };
      const check = binaryCheck(report, kind);
      const noDriver = gpu.driver === null && gpu.vendor !== 'apple';
      if (!report.llamaGpu.valid.includes(kind) && report.llamaGpu.checked) {
        reasons.push(`GPU not used for ${kind}: ${name}, but node-llama-cpp has no ${kind} build for ${platformArch}.`);
      } else if (check && !check.loadable) {
        reasons.push(
          `GPU not used for ${kind}: ${name}, but the prebuilt ${kind} binary is not loadable (${errorText(check)})` +
            (noDriver ? `; no ${gpu.vendor.toUpperCase()} driver was found: install the GPU driver${kind === 'cuda' ? ' and the CUDA runtime' : ' and Vulkan loader'}.` : '.'),
        );
      } else if (noDriver) {
        reasons.push(`GPU not used for ${kind}: ${name}, but no driver was found; install the ${gpu.vendor.toUpperCase()} driver.`);
      } else {
        reasons.push(`GPU not used for ${kind}: node-llama-cpp was not asked whether its ${kind} binary loads.`);
      }
    }
  }
  if (report.appleSilicon && !gpus.some((g) => g.vendor === 'apple')) {
    // systeminformation can miss the GPU of Apple Silicon in sandboxes; Metal is still there.
    if (binaryUsable(report, 'metal') === true) {
      return { kind: 'metal', gpu: { vendor: 'apple', vendorName: 'Apple', model: 'Apple Silicon GPU', vramMiB: null, sharedMemory: true, driver: null } };
    }
  }
  return undefined;
}

/** true when the binary loaded, or (not checked) when node-llama-cpp lists the type as supported. */
function binaryUsable(report: HardwareReport, kind: LlamaGpuKind): boolean {
  const check = binaryCheck(report, kind);
  if (check) return check.loadable;
  return report.llamaGpu.supported.includes(kind);
}

function errorText(check: LlamaBinaryCheck): string {
  const name = check.errorName ?? 'Error';
  return !check.error || check.error === name ? name : `${name}: ${check.error}`;
}
