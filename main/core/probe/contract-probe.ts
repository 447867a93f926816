// Maps the probe's report and plan onto the control contract's plain ProbeResult for the chat window.
import type { ProbeResult } from '../../common/contract-types.ts';
import type { InferencePlan } from './plan.ts';
import type { HardwareReport } from './report.ts';

const MIB = 1024 * 1024;

export function toContractProbe({ report, plan }: { report: HardwareReport; plan: InferencePlan }): ProbeResult {
  return {
    report: {
      os: {
        platform: report.os.platform,
        ...(report.os.release ? { release: report.os.release } : {}),
        arch: report.os.arch,
        appleSilicon: report.appleSilicon,
      },
      cpu: {
        model: report.cpu.model,
        cores: report.cpu.physicalCores,
        threads: report.cpu.logicalCores,
        flags: report.cpu.flags,
      },
      memory: { totalBytes: report.memory.totalMiB * MIB, freeBytes: report.memory.freeMiB * MIB },
      gpus: report.gpus.map((g) => ({
        vendor: g.vendorName ?? g.vendor,
        model: g.model,
        ...(g.vramMiB != null ? { vramBytes: g.vramMiB * MIB } : {}),
        ...(g.driver ? { driver: g.driver } : {}),
      })),
      ...(report.ollama?.reachable
        ? {
            ollama: {
              url: report.ollama.url,
              ...(report.ollama.version ? { version: report.ollama.version } : {}),
              models: (report.ollama.models ?? []).map((m) => m.name),
            },
          }
        : {}),
    },
    plan: {
      backend: plan.backend,
      threads: plan.threads,
      gpuLayers: plan.gpuLayers,
      maxLoadedModels: plan.maxLoadedModels,
      memoryBudgetMiB: plan.memoryBudgetMiB,
      recommendedModels: [
        plan.recommended.llama ? `llama:${plan.recommended.llama}` : undefined,
        report.ollama?.reachable ? `ollama:${plan.recommended.ollama}` : undefined,
      ].filter((x): x is string => Boolean(x)),
      reasons: plan.reasons,
    },
  };
}
