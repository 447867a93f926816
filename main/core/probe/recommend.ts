// The recommended model for this machine: node-llama-cpp's own fit estimate (GgufInsights and its configuration
// resolver, model-fit.ts) over a current list of small instruct models (model-candidates.ts), with the reasons:
// which fits, how much memory it takes, why the others were not chosen. The hand-made tier table of the plan is
// only the fallback for when node-llama-cpp cannot estimate any candidate.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODEL_CANDIDATES, type CandidateModel } from './model-candidates.ts';
import {
  fitHardware,
  headerInsights,
  MIN_CONTEXT_TOKENS,
  scoreCandidates,
  type FileError,
  type FileFit,
  type FitHardware,
  type InsightsLoader,
} from './model-fit.ts';
import { TIER_TABLE, type InferencePlan, type ModelRecommendation } from './plan.ts';
import type { HardwareReport } from './report.ts';

export interface ModelPick {
  /** Who decided: node-llama-cpp's estimate, or the plan's tier table when no candidate could be estimated. */
  by: 'node-llama-cpp' | 'tier table';
  recommended: ModelRecommendation;
  /** The chosen file as the resolver scored it (absent for the tier table). */
  fit?: FileFit;
  reasons: string[];
}

export interface RecommendOptions {
  candidates?: readonly CandidateModel[];
  /** Reads a candidate file's insights; the default writes its header-only GGUF (model-headers.ts). */
  insights?: InsightsLoader;
  /** The memory budget from settings, when the person set one: a model gets at most that much RAM. */
  memoryBudgetMiB?: number;
}

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(1)} GiB`;
const name = (f: { model: CandidateModel; file: { quant: string } }) => `${f.model.label} ${f.file.quant}`;

/**
 * Most weights (GiB) the CPU answers at chat speed with on this many threads: generation reads every weight per
 * token, so time per token grows with the file (MEASURED.md: a 1B q8_0 gives 14 tok/s on 1 thread of 2 cores).
 */
export function cpuWeightCapGiB(threads: number): number {
  if (threads <= 2) return 1.2;
  if (threads <= 4) return 2;
  return 5;
}

/** Why a file cannot be the pick here, or undefined when it can. */
function unfitReason(f: FileFit, hw: FitHardware): string | undefined {
  if (f.score <= 0) {
    const has = hw.gpu
      ? `${gib(f.vramBytes)} of VRAM and ${gib(f.ramBytes)} of RAM (${gib(hw.vramMiB * MIB)} of VRAM, ${gib(hw.ramFreeMiB * MIB)} of RAM available)`
      : `${gib(f.ramBytes)} of RAM (${gib(hw.ramFreeMiB * MIB)} available)`;
    return `${name(f)} does not fit: with a ${MIN_CONTEXT_TOKENS}-token context it needs ${has}`;
  }
  const cap = cpuWeightCapGiB(hw.threads);
  if (!hw.gpu && f.modelBytes > cap * GIB)
    return `${name(f)} fits but is too slow here: ${gib(f.modelBytes)} of weights, and on ${hw.threads} CPU thread(s) at most ${cap} GiB answers at chat speed`;
  return undefined;
}

/**
 * Pure: the best file among those the resolver scored. Within a model, node-llama-cpp's own rule: the best
 * quantization that scores 1, else the best-scoring one. Across models on a GPU the best score wins (every layer on
 * the GPU scores 1) and ties go to the more capable model. On the CPU node-llama-cpp's score only prefers smaller
 * files once a model fits, whatever the memory, so there the most capable model that fits and answers at chat speed
 * wins, in its best-scoring quantization.
 */
export function chooseFit(fits: readonly FileFit[], hw: FitHardware): FileFit | undefined {
  const usable = fits.filter((f) => unfitReason(f, hw) === undefined);
  const perModel = new Map<CandidateModel, FileFit>();
  for (const f of usable) {
    const best = perModel.get(f.model);
    if (!best || (best.score < 1 && f.score > best.score)) perModel.set(f.model, f);
  }
  const rank = (f: FileFit) => fits.findIndex((x) => x.model === f.model); // candidates come most capable first
  const picks = [...perModel.values()].sort((a, b) =>
    hw.gpu && Math.abs(b.score - a.score) > 1e-9 ? b.score - a.score : rank(a) - rank(b),
  );
  return picks[0];
}

/** How much memory a file takes: VRAM and RAM on a GPU, RAM on the CPU. */
function memoryText(f: FileFit, hw: FitHardware): string {
  return hw.gpu
    ? `${f.gpuLayers} of ${f.totalLayers} layers on the GPU, about ${gib(f.vramBytes)} of VRAM and ${gib(f.ramBytes)} of RAM`
    : `on the CPU, about ${gib(f.ramBytes)} of RAM`;
}

function asRecommendation(f: FileFit): ModelRecommendation {
  return {
    label: `${f.model.label} ${f.file.quant}`,
    llama: f.uri,
    ollama: f.model.ollama,
    sizeMiB: Math.round(f.file.bytes / 2 ** 20),
  };
}

/** Reasons for the pick: what it takes, and for every other candidate why it was not chosen. */
function pickReasons(pick: FileFit, fits: readonly FileFit[], errors: readonly FileError[], hw: FitHardware): string[] {
  const reasons = [
    `Recommended ${name(pick)} by node-llama-cpp's estimate: ${memoryText(pick, hw)} with a ${pick.contextTokens}-token context (score ${pick.score.toFixed(2)}).`,
  ];
  for (const model of new Set(fits.map((f) => f.model))) {
    if (model === pick.model) continue;
    const files = fits.filter((f) => f.model === model);
    const fitting = files.filter((f) => unfitReason(f, hw) === undefined);
    if (fitting.length > 0) {
      const best = chooseFit(fitting, hw)!;
      const why = hw.gpu && best.score < pick.score ? 'it scores lower' : `${pick.model.label} is more capable`;
      reasons.push(
        `Not chosen: ${name(best)} also fits (${memoryText(best, hw)}, score ${best.score.toFixed(2)}), but ${why}.`,
      );
    } else reasons.push(`Not chosen: ${unfitReason(files[files.length - 1]!, hw)}.`);
  }
  for (const e of errors) reasons.push(`Not estimated: ${name(e)} (${e.error}).`);
  return reasons;
}

/** The plan's tier pick, with why node-llama-cpp's estimate was not used. */
function tierFallback(plan: InferencePlan, why: string): ModelPick {
  return {
    by: 'tier table',
    recommended: plan.recommended,
    reasons: [`${why}; recommended ${plan.recommended.label} from the memory tier table instead.`],
  };
}

/** The recommended model for the probed machine, and why. Never throws: the tier table stands in. */
export async function recommendModel(
  report: HardwareReport,
  plan: InferencePlan,
  options: RecommendOptions = {},
): Promise<ModelPick> {
  const hw = fitHardware(report, plan, options.memoryBudgetMiB);
  let scored: { fits: FileFit[]; errors: FileError[] };
  let dir: string | undefined;
  try {
    // The headers go to a private folder of this call, removed once they are read.
    if (!options.insights) dir = await mkdtemp(join(tmpdir(), 'agent-room-model-headers-'));
    const load = options.insights ?? headerInsights(dir!);
    scored = await scoreCandidates(options.candidates ?? MODEL_CANDIDATES, hw, load);
  } catch (err) {
    return tierFallback(plan, `node-llama-cpp could not estimate the candidates (${String(err)})`);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  const { fits, errors } = scored;
  if (fits.length === 0) {
    const first = errors[0]?.error ?? 'no candidates';
    return tierFallback(plan, `node-llama-cpp could not estimate any candidate model (${first})`);
  }
  const pick = chooseFit(fits, hw);
  if (pick)
    return {
      by: 'node-llama-cpp',
      recommended: asRecommendation(pick),
      fit: pick,
      reasons: pickReasons(pick, fits, errors, hw),
    };
  // Nothing fits the memory available now: the lightest candidate is the one most likely to load.
  const lightest = [...fits].sort((a, b) => a.ramBytes + a.vramBytes - (b.ramBytes + b.vramBytes))[0]!;
  return {
    by: 'node-llama-cpp',
    recommended: asRecommendation(lightest),
    fit: lightest,
    reasons: [
      `No candidate fits the memory available now with a ${MIN_CONTEXT_TOKENS}-token context; recommended the lightest, ${name(lightest)} (${gib(lightest.ramBytes + lightest.vramBytes)}): close other programs before the first chat.`,
      ...pickReasons(lightest, fits, errors, hw).slice(1),
    ],
  };
}

/** The plan with the recommendation in place of the tier table's, and its reasons after the plan's. */
export function withRecommendation(plan: InferencePlan, pick: ModelPick): InferencePlan {
  const planReasons = pick.by === 'tier table' ? plan.reasons : plan.reasons.filter((r) => !r.startsWith(TIER_TABLE));
  return { ...plan, recommended: pick.recommended, recommendedBy: pick.by, reasons: [...planReasons, ...pick.reasons] };
}
