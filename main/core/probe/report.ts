// The hardware report: plain JSON facts about this machine that the inference plan is derived from.
// Serializable on purpose, so `agent-room probe --json` prints it and tests feed recorded fixtures.

export type GpuVendor = 'nvidia' | 'amd' | 'intel' | 'apple' | 'qualcomm' | 'other';

/** The GPU kinds node-llama-cpp ships binaries for; `cpu` stands for its `gpu: false`. */
export type LlamaGpuKind = 'metal' | 'cuda' | 'vulkan';
export type LlamaBinaryKind = LlamaGpuKind | 'cpu';

export interface CpuReport {
  model: string;
  vendor: string;
  physicalCores: number;
  logicalCores: number;
  /** Performance cores on hybrid CPUs (Apple M, Intel 12th gen+); equal to physicalCores elsewhere. */
  performanceCores: number;
  /** Instruction-set flags as the OS reports them (lower case). */
  flags: string[];
  simd: { avx: boolean; avx2: boolean; avx512: boolean; neon: boolean };
}

export interface MemoryReport {
  totalMiB: number;
  /** Memory available to new allocations (free plus reclaimable caches). */
  freeMiB: number;
}

export interface GpuReport {
  vendor: GpuVendor;
  /** The vendor string as the OS reports it. */
  vendorName: string;
  model: string;
  /** Dedicated VRAM; null when unknown or when the GPU shares system memory. */
  vramMiB: number | null;
  /** True for integrated GPUs and unified memory (Apple Silicon). */
  sharedMemory: boolean;
  /** Driver version; null when none was found. */
  driver: string | null;
}

export interface OsReport {
  platform: string;
  distro: string;
  release: string;
  arch: string;
}

export interface LlamaBinaryCheck {
  gpu: LlamaBinaryKind;
  loadable: boolean;
  /** Error class name, e.g. NoBinaryFoundError, when not loadable. */
  errorName?: string;
  error?: string;
}

export interface LlamaGpuReport {
  /** Whether node-llama-cpp was asked at all (false when the probe was told to skip it). */
  checked: boolean;
  /** GPU types with drivers and libraries present, per node-llama-cpp's getLlamaGpuTypes('supported'). */
  supported: LlamaGpuKind[];
  /** GPU types valid for this OS and arch, per getLlamaGpuTypes('allValid'). */
  valid: LlamaGpuKind[];
  /** Each binary the probe tried to load, with the outcome. */
  tried: LlamaBinaryCheck[];
  error?: string;
}

export interface OllamaModelReport {
  name: string;
  sizeBytes?: number;
  parameterSize?: string;
  quantization?: string;
}

export interface OllamaReport {
  url: string;
  reachable: boolean;
  version?: string;
  models?: OllamaModelReport[];
  error?: string;
}

export interface HardwareReport {
  schemaVersion: 1;
  /** ISO time of the probe. */
  probedAt: string;
  cpu: CpuReport;
  memory: MemoryReport;
  gpus: GpuReport[];
  os: OsReport;
  appleSilicon: boolean;
  llamaGpu: LlamaGpuReport;
  ollama: OllamaReport;
}
