// The GPU side of the inference plan: the best GPU llama.cpp can drive here (a prebuilt binary that loads, enough
// VRAM), why each other GPU is not used, and how much of a model the chosen one takes.
import type { GpuReport, HardwareReport, LlamaBinaryCheck, LlamaGpuKind } from './report.ts';

/** What node-llama-cpp's loadModel gets as gpuLayers: every layer, as many as fit, or none. */
export type GpuLayersPolicy = 'max' | 'auto' | 0;

/** Below this, a discrete GPU holds too little of even a small model to beat the CPU. */
export const MIN_USEFUL_VRAM_MIB = 2048;
/** At or above this, every layer of the recommended model fits: offload all of them. */
const FULL_OFFLOAD_VRAM_MIB = 8192;

export interface GpuChoice {
  kind: LlamaGpuKind;
  gpu: GpuReport;
}

/**
 * How much of a model the chosen GPU takes (all layers, or as many as fit) and the memory budget that follows; on the
 * CPU the RAM budget, with why no GPU binary could be used.
 */
export function offloadPolicy(
  choice: GpuChoice | undefined,
  report: HardwareReport,
  ramBudget: number,
  reasons: string[],
): { gpuLayers: GpuLayersPolicy; budget: number } {
  let gpuLayers: GpuLayersPolicy = 0;
  let budget = ramBudget;
  if (choice?.kind === 'metal') {
    gpuLayers = 'max';
    // macOS lets the GPU wire about two thirds of unified memory.
    budget = Math.min(ramBudget, Math.floor(report.memory.totalMiB * 0.65));
    reasons.push(
      `Metal on ${choice.gpu.model}: unified memory, all layers on the GPU; budget ${budget} MiB of ${report.memory.totalMiB} MiB.`,
    );
  } else if (choice) {
    const vram = choice.gpu.vramMiB ?? 0;
    const usable = vram - Math.min(1228, Math.round(vram * 0.08)); // node-llama-cpp's own VRAM padding
    if (vram >= FULL_OFFLOAD_VRAM_MIB) {
      gpuLayers = 'max';
      budget = usable;
      reasons.push(
        `${choice.kind.toUpperCase()} on ${choice.gpu.model} (${vram} MiB VRAM): all layers on the GPU; budget ${usable} MiB of VRAM.`,
      );
    } else {
      gpuLayers = 'auto';
      // Partial offload: layers that do not fit stay in RAM, so a model up to twice the VRAM still gains.
      budget = Math.min(ramBudget, usable * 2);
      reasons.push(
        `${choice.kind.toUpperCase()} on ${choice.gpu.model} (${vram} MiB VRAM): layers offloaded as they fit ('auto'), the rest on the CPU.`,
      );
    }
  } else {
    const failed = report.llamaGpu.tried.filter((t) => t.gpu !== 'cpu' && !t.loadable);
    if (failed.length > 0 && !reasons.some((r) => r.includes('not loadable'))) {
      reasons.push(
        `node-llama-cpp GPU binaries not loadable here: ${failed.map((t) => `${t.gpu} (${t.errorName ?? 'Error'})`).join(', ')}.`,
      );
    }
    reasons.push(
      `CPU inference; budget ${ramBudget} MiB of ${report.memory.totalMiB} MiB RAM (the rest is left to the OS, homeserver and app).`,
    );
  }
  return { gpuLayers, budget };
}

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
export function chooseGpu(report: HardwareReport, reasons: string[]): GpuChoice | undefined {
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
      reasons.push(
        `GPU not used: ${name} is an integrated GPU sharing system memory; Vulkan offload there is rarely faster than the CPU.`,
      );
      continue;
    }
    if (!gpu.sharedMemory && (gpu.vramMiB ?? 0) < MIN_USEFUL_VRAM_MIB) {
      reasons.push(
        `GPU not used: ${name} has ${gpu.vramMiB ?? 'unknown'} MiB VRAM, too small (under ${MIN_USEFUL_VRAM_MIB} MiB) to hold a useful share of a model.`,
      );
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
            (noDriver
              ? `; no ${gpu.vendor.toUpperCase()} driver was found: install the GPU driver${kind === 'cuda' ? ' and the CUDA runtime' : ' and Vulkan loader'}.`
              : '.'),
        );
      } else if (noDriver) {
        reasons.push(
          `GPU not used for ${kind}: ${name}, but no driver was found; install the ${gpu.vendor.toUpperCase()} driver.`,
        );
      } else {
        reasons.push(`GPU not used for ${kind}: node-llama-cpp was not asked whether its ${kind} binary loads.`);
      }
    }
  }
  if (report.appleSilicon && !gpus.some((g) => g.vendor === 'apple')) {
    // systeminformation can miss the GPU of Apple Silicon in sandboxes; Metal is still there.
    if (binaryUsable(report, 'metal') === true) {
      return {
        kind: 'metal',
        gpu: {
          vendor: 'apple',
          vendorName: 'Apple',
          model: 'Apple Silicon GPU',
          vramMiB: null,
          sharedMemory: true,
          driver: null,
        },
      };
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
