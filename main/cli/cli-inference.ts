// The inference service alone for one-shot CLI commands (`models`, `models pull`, `chat`): settings,
// secrets and the hardware plan as app-core builds them, without the homeserver, provisioning or bots.
import type { PullJob } from '../common/contract-types.ts';
import type { Settings } from '../common/settings-schema.ts';
import { auditFile } from '../core/audit/audit-store.ts';
import { InferenceService } from '../core/inference/inference-service.ts';
import { isInferenceError } from '../core/inference/types.ts';
import { peerInference, PeerStore } from '../core/peers/peer-store.ts';
import { createLogger, type Logger } from '../core/logging/logger.ts';
import { dataPaths, type DataPaths } from '../core/paths.ts';
import { planInference, type InferencePlan } from '../core/probe/plan.ts';
import { probeHardware } from '../core/probe/probe.ts';
import type { HardwareReport } from '../core/probe/report.ts';
import { FileSecretStore } from '../core/settings/secret-store.ts';
import { ConfSettingsStore } from '../core/settings/settings-store.ts';

/**
 * How much of the hardware probe a command needs:
 * - 'none-llama': listing and pulling generate nothing, so node-llama-cpp's binaries are not tried (the
 *   full probe spends 3–4 s loading each GPU build); the plan then says CPU, which nothing here uses.
 * - 'gpu-aware': `chat` generates. The quick probe (systeminformation + Ollama, tens of ms) runs first;
 *   only when it finds a GPU that llama.cpp could compute on does the full probe run, so the plan on a
 *   GPU machine is the same as serve's, and on a CPU-only machine (like this one) the same CPU plan
 *   comes seconds sooner. Threads come from the plan either way (1 on 2 cores).
 */
export type ProbeMode = 'none-llama' | 'gpu-aware';

/** True when the report shows a GPU that one of llama.cpp's GPU builds might drive. */
export function mayUseGpu(report: HardwareReport): boolean {
  return report.appleSilicon || report.gpus.some((g) => g.vendor !== 'other');
}

export async function probeForCli(
  mode: ProbeMode,
  probe: typeof probeHardware = probeHardware,
): Promise<HardwareReport> {
  const quick = await probe({ llamaProbe: false });
  return mode === 'gpu-aware' && mayUseGpu(quick) ? probe() : quick;
}

export interface CliInference {
  paths: DataPaths;
  service: InferenceService;
  settings: () => Settings;
  logger: Logger;
  plan: () => InferencePlan | undefined;
  /** Stops the backends (unloads models, aborts jobs) and flushes the log. */
  close(): Promise<void>;
}

export interface OpenInferenceOptions {
  dataDir: string;
  probe: ProbeMode;
  onJob?: (job: PullJob) => void;
  /** Where a warning goes (settings problems). */
  warn?: (line: string) => void;
  /** Record every call the router makes in the audit database, as serve does (`pipeline run`: its stages are bots' calls). */
  audit?: boolean;
}

export async function openInference(options: OpenInferenceOptions): Promise<CliInference> {
  const paths = dataPaths(options.dataDir);
  // Logs go to <data>/logs/cli.*.log only: the terminal is for the command's own output.
  const logger = createLogger({ logDir: paths.logs, name: 'cli' });
  const store = new ConfSettingsStore({ dataDir: paths.root, logger });
  const warn = options.warn ?? ((line: string) => console.error(line));
  for (const issue of store.issues) warn(`Settings: ${issue.path}: ${issue.message} (using the default for this key)`);
  const secrets = new FileSecretStore({ file: paths.secrets });
  const service = new InferenceService({
    getSettings: () => store.get(),
    getPlan: async () => {
      const report = await probeForCli(options.probe);
      const inf = store.get().inference;
      const plan = planInference(report, {
        preferOllama: inf.preferOllama,
        threads: inf.threads,
        maxLoadedModels: inf.maxLoadedModels,
        memoryBudgetMiB: inf.memoryBudgetMiB,
      });
      return { report, plan };
    },
    modelsDir: paths.models,
    resolveSecret: async (ref) => (ref.startsWith('env:') ? process.env[ref.slice(4)] : secrets.get(ref)),
    logger,
    ...(options.onJob ? { onJob: options.onJob } : {}),
    ...(options.audit ? { auditFile: auditFile(paths.state) } : {}),
    peers: peerInference(new PeerStore(paths.state), () => store.get().peers.connectTimeoutMs),
    // A one-shot command asks a peer only when it uses it.
    peerCheckMs: 0,
  });
  await service.start(new AbortController().signal);
  return {
    paths,
    service,
    settings: () => store.get(),
    logger,
    plan: () => service.plan,
    close: async () => {
      await service.stop(2000);
      logger.flush();
    },
  };
}

/** Prints an error as a person should read it: what failed, then what to do. */
export function describeError(err: unknown): string {
  if (isInferenceError(err)) return `${err.message}\n${err.hint}`;
  return err instanceof Error ? err.message : String(err);
}

/** Waits until stdout and stderr have handed their data to the OS, so that process.exit loses nothing. */
export async function flushStdio(): Promise<void> {
  await Promise.all(
    [process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))),
  );
}

/**
 * What stops a one-shot command: Ctrl+C (a second one exits at once with 130), or the caller's signal in tests.
 * `release` takes the Ctrl+C handler off again.
 */
export function interruptible(cancelSignal?: AbortSignal): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  if (cancelSignal) cancelSignal.addEventListener('abort', () => abort.abort(), { once: true });
  else process.on('SIGINT', onSigint);
  return { signal: abort.signal, release: () => void process.off('SIGINT', onSigint) };
}
