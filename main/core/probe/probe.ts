// Probes this machine: CPU, memory, GPUs and OS (systeminformation), what node-llama-cpp can load,
// and whether an Ollama server answers. Everything that touches the world is injectable for tests.
import type { Systeminformation } from 'systeminformation';
import type {
  CpuReport,
  GpuReport,
  GpuVendor,
  HardwareReport,
  LlamaBinaryCheck,
  LlamaBinaryKind,
  LlamaGpuKind,
  LlamaGpuReport,
  OllamaReport,
  OsReport,
} from './report.ts';

/** The part of systeminformation the probe uses; tests pass recorded data. */
export interface SystemInfoSource {
  cpu(): Promise<
    Pick<Systeminformation.CpuData, 'manufacturer' | 'brand' | 'vendor' | 'cores' | 'physicalCores'> & {
      performanceCores?: number;
    }
  >;
  cpuFlags(): Promise<string>;
  mem(): Promise<Pick<Systeminformation.MemData, 'total' | 'free' | 'available'>>;
  graphics(): Promise<{ controllers: Partial<Systeminformation.GraphicsControllerData>[] }>;
  osInfo(): Promise<Pick<Systeminformation.OsData, 'platform' | 'distro' | 'release' | 'arch'>>;
}

/** What the probe asks node-llama-cpp; the default loads it lazily. */
export interface LlamaProbe {
  gpuTypes(include: 'supported' | 'allValid'): Promise<(LlamaGpuKind | false)[]>;
  /** Resolves when the prebuilt binary for `gpu` loads on this machine; throws why otherwise. */
  tryLoad(gpu: LlamaGpuKind | false): Promise<void>;
}

export interface ProbeOptions {
  si?: SystemInfoSource;
  /** false skips node-llama-cpp entirely (the report then says it was not checked). */
  llamaProbe?: LlamaProbe | false;
  fetch?: typeof fetch;
  /** Ollama base URL; defaults to OLLAMA_HOST or http://127.0.0.1:11434. */
  ollamaUrl?: string;
  /** Timeout for each Ollama request. */
  timeoutMs?: number;
  /** Timeout for each node-llama-cpp binary check. */
  llamaTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
const MIB = 1024 * 1024;

export async function probeHardware(options: ProbeOptions = {}): Promise<HardwareReport> {
  const si = options.si ?? ((await import('systeminformation')).default as unknown as SystemInfoSource);
  const env = options.env ?? process.env;
  const ollamaUrl = options.ollamaUrl ?? ollamaUrlFromEnv(env.OLLAMA_HOST) ?? DEFAULT_OLLAMA_URL;
  const llamaProbe = options.llamaProbe === undefined ? nodeLlamaProbe() : options.llamaProbe;
  // systeminformation calls are cheap (tens of ms); run them alongside the Ollama request.
  const [cpu, flags, mem, graphics, os, ollama] = await Promise.all([
    si.cpu(),
    si.cpuFlags().catch(() => ''),
    si.mem(),
    si.graphics().catch(() => ({ controllers: [] })),
    si.osInfo(),
    probeOllama(ollamaUrl, options.fetch ?? fetch, options.timeoutMs ?? 1500),
  ]);
  const osReport: OsReport = { platform: os.platform, distro: os.distro, release: os.release, arch: os.arch };
  // node-llama-cpp's checks load native code; run them after the rest so they do not compete.
  const llamaGpu = llamaProbe ? await probeLlama(llamaProbe, options.llamaTimeoutMs ?? 15_000) : notChecked();
  return {
    schemaVersion: 1,
    probedAt: (options.now?.() ?? new Date()).toISOString(),
    cpu: toCpuReport(cpu, flags || '', osReport.arch),
    memory: { totalMiB: Math.round(mem.total / MIB), freeMiB: Math.round((mem.available || mem.free) / MIB) },
    gpus: graphics.controllers.map(toGpuReport),
    os: osReport,
    appleSilicon: osReport.platform === 'darwin' && osReport.arch === 'arm64',
    llamaGpu,
    ollama,
  };
}

export function toCpuReport(
  cpu: Awaited<ReturnType<SystemInfoSource['cpu']>>,
  flagText: string,
  arch: string,
): CpuReport {
  const flags = flagText.toLowerCase().split(/\s+/).filter(Boolean);
  const has = (f: string) => flags.includes(f);
  const physicalCores = cpu.physicalCores || cpu.cores || 1;
  const perf =
    cpu.performanceCores && cpu.performanceCores > 0 ? Math.min(cpu.performanceCores, physicalCores) : physicalCores;
  return {
    model: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || 'unknown',
    vendor: cpu.vendor || cpu.manufacturer || 'unknown',
    physicalCores,
    logicalCores: cpu.cores || physicalCores,
    performanceCores: perf,
    flags,
    simd: {
      avx: has('avx'),
      avx2: has('avx2'),
      avx512: flags.some((f) => f.startsWith('avx512')),
      // NEON (asimd) is mandatory on ARMv8, and macOS reports no flags at all.
      neon: has('neon') || has('asimd') || /^(arm64|aarch64)$/.test(arch),
    },
  };
}

export function gpuVendorOf(vendor: string, model: string): GpuVendor {
  const text = `${vendor} ${model}`;
  // Virtual display adapters of VMs and remote sessions are GPUs in name only.
  if (/vmware|virtualbox|qxl|cirrus|basic display|hyper-v|virtio|llvmpipe|parallels|matrox|aspeed/i.test(text))
    return 'other';
  if (/nvidia/i.test(text)) return 'nvidia';
  if (/advanced micro devices|\bamd\b|\bati\b|radeon/i.test(text)) return 'amd';
  if (/intel/i.test(text)) return 'intel';
  if (/apple/i.test(text)) return 'apple';
  if (/qualcomm|adreno/i.test(text)) return 'qualcomm';
  return 'other';
}

export function toGpuReport(c: Partial<Systeminformation.GraphicsControllerData>): GpuReport {
  const vendorName = c.vendor ?? '';
  const model = c.model || c.name || 'unknown';
  const vendor = gpuVendorOf(vendorName, model);
  const vram = c.vram || c.memoryTotal || 0;
  return {
    vendor,
    vendorName,
    model,
    vramMiB: vram > 0 ? vram : null,
    sharedMemory: Boolean(c.vramDynamic) || vendor === 'apple',
    driver: c.driverVersion || null,
  };
}

function notChecked(): LlamaGpuReport {
  return { checked: false, supported: [], valid: [], tried: [] };
}

const gpuKinds = (types: (LlamaGpuKind | false)[]): LlamaGpuKind[] =>
  types.filter((t): t is LlamaGpuKind => t !== false);

async function probeLlama(probe: LlamaProbe, timeoutMs: number): Promise<LlamaGpuReport> {
  let supported: LlamaGpuKind[];
  let valid: LlamaGpuKind[];
  try {
    [supported, valid] = await Promise.all([
      probe.gpuTypes('supported').then(gpuKinds),
      probe.gpuTypes('allValid').then(gpuKinds),
    ]);
  } catch (err) {
    return { ...notChecked(), checked: true, error: describe(err).error };
  }
  const tried: LlamaBinaryCheck[] = [];
  // Sequential on purpose: each check dlopens a native binary, and the machine may have 2 cores.
  for (const gpu of [...valid, false as const]) {
    const kind: LlamaBinaryKind = gpu === false ? 'cpu' : gpu;
    try {
      await withTimeout(probe.tryLoad(gpu), timeoutMs, `loading the ${kind} binary took over ${timeoutMs} ms`);
      tried.push({ gpu: kind, loadable: true });
    } catch (err) {
      tried.push({ gpu: kind, loadable: false, ...describe(err) });
    }
  }
  return { checked: true, supported, valid, tried };
}

/** The default probe: node-llama-cpp's dry run loads a binary without the backend and disposes it at once. */
export function nodeLlamaProbe(): LlamaProbe {
  return {
    async gpuTypes(include) {
      const { getLlamaGpuTypes } = await import('node-llama-cpp');
      return getLlamaGpuTypes(include);
    },
    async tryLoad(gpu) {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      // build 'never': building from source would take minutes; we only want to know what loads now.
      const llama = await getLlama({
        gpu,
        build: 'never',
        dryRun: true,
        skipDownload: true,
        progressLogs: false,
        maxThreads: 1,
        logLevel: LlamaLogLevel.error,
      });
      if (!llama.disposed) await llama.dispose();
    },
  };
}

export async function probeOllama(url: string, fetchFn: typeof fetch, timeoutMs: number): Promise<OllamaReport> {
  const base = url.replace(/\/+$/, '');
  try {
    const versionRes = await fetchFn(`${base}/api/version`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!versionRes.ok)
      return { url: base, reachable: false, error: `GET /api/version answered HTTP ${versionRes.status}` };
    const { version } = (await versionRes.json()) as { version?: string };
    const report: OllamaReport = { url: base, reachable: true, ...(version ? { version } : {}) };
    try {
      const tagsRes = await fetchFn(`${base}/api/tags`, { signal: AbortSignal.timeout(timeoutMs) });
      if (tagsRes.ok) {
        const tags = (await tagsRes.json()) as {
          models?: {
            name: string;
            size?: number;
            details?: { parameter_size?: string; quantization_level?: string };
          }[];
        };
        report.models = (tags.models ?? []).map((m) => ({
          name: m.name,
          ...(m.size !== undefined ? { sizeBytes: m.size } : {}),
          ...(m.details?.parameter_size ? { parameterSize: m.details.parameter_size } : {}),
          ...(m.details?.quantization_level ? { quantization: m.details.quantization_level } : {}),
        }));
      } else report.error = `GET /api/tags answered HTTP ${tagsRes.status}`;
    } catch (err) {
      report.error = `listing models failed: ${describe(err).error}`;
    }
    return report;
  } catch (err) {
    return { url: base, reachable: false, error: describe(err).error };
  }
}

/** OLLAMA_HOST may be "0.0.0.0", "host:port" or a URL; a wildcard bind is reached on loopback. */
export function ollamaUrlFromEnv(host: string | undefined): string | undefined {
  if (!host?.trim()) return undefined;
  let value = host.trim();
  if (!/^https?:\/\//.test(value)) value = `http://${value}`;
  try {
    const u = new URL(value);
    if (u.hostname === '0.0.0.0' || u.hostname === '[::]') u.hostname = '127.0.0.1';
    if (!u.port && u.protocol === 'http:') u.port = '11434';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

function describe(err: unknown): { errorName: string; error: string } {
  if (err instanceof Error) {
    // node-llama-cpp's NoBinaryFoundError keeps name "Error"; its class name is what a person can look up.
    const errorName = err.constructor?.name && err.constructor.name !== 'Error' ? err.constructor.name : err.name;
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return { errorName, error: `${err.message}${cause}` };
  }
  return { errorName: 'Error', error: String(err) };
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(message), { name: 'TimeoutError' })), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
