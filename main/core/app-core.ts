// The headless core: settings, secrets, the services in start order (homeserver → provisioning →
// inference → bots), the control contract's handlers and events. serve and Electron both build on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlError, type AppStatus, type Handlers, type ServiceReport as ContractServiceReport } from '../common/contract.ts';
import { applySettingsPatch } from '../common/contract-settings.ts';
import type { Settings } from '../common/settings-schema.ts';
import { EventHub } from './control/event-hub.ts';
import { InferenceService } from './inference/inference-service.ts';
import { ServiceHost } from './lifecycle/service-host.ts';
import type { ServiceState } from './lifecycle/service.ts';
import type { Logger } from './logging/logger.ts';
import { routeSdkLogs } from './logging/sdk-logging.ts';
import type { DataPaths } from './paths.ts';
import { planInference, type InferencePlan } from './probe/plan.ts';
import { probeWithCache } from './probe/probe-cache.ts';
import type { HardwareReport } from './probe/report.ts';
import { toContractProbe } from './probe/contract-probe.ts';
import { FileSecretStore, type SecretStore } from './settings/secret-store.ts';
import { ConfSettingsStore, type SettingsStore } from './settings/settings-store.ts';
import { FirstRunService } from './first-run.ts';
import { saveRecoveryKey } from './crypto/owner-recovery.ts';
import { OWNER_RECOVERY_SECRET } from './provisioning/encryption.ts';
import { buildMatrixServices, type MatrixServices, type MatrixOverrides } from './matrix-services.ts';

export interface AppCoreOptions {
  paths: DataPaths;
  logger: Logger;
  shell?: 'serve' | 'desktop';
  /** The desktop shell passes electron-store and safeStorage adapters; serve uses conf and a 0600 file. */
  settingsStore?: SettingsStore;
  secretStore?: SecretStore;
  /** Where bin/<platform>-<arch>/conduit lives (process.resourcesPath when packaged). */
  resourcesDir?: string;
  overrides?: MatrixOverrides;
  /** Tests replace the hardware probe (it takes seconds: it tries node-llama-cpp's GPU binaries). */
  probe?: () => Promise<HardwareReport>;
  fetch?: typeof fetch;
  /** Tests point model discovery away from the real home folder. */
  discoveryHome?: string;
}

export interface AppCore {
  host: ServiceHost;
  handlers: Handlers;
  events: EventHub;
  settings: SettingsStore;
  secrets: SecretStore;
  inference: InferenceService;
  matrix: MatrixServices;
  health(): Health;
  status(): AppStatus;
  close(): Promise<void>;
}

export interface Health {
  status: 'starting' | 'ok' | 'degraded' | 'stopping' | 'stopped';
  version: string;
  services: Array<{ name: string; state: ServiceState }>;
}

export function appVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export async function createAppCore(options: AppCoreOptions): Promise<AppCore> {
  const { paths, logger } = options;
  routeSdkLogs(logger);
  const settings = options.settingsStore ?? new ConfSettingsStore({ dataDir: paths.root, logger });
  for (const issue of settings.issues) logger.warn({ key: issue.path, reason: issue.message }, `settings: ${issue.path}: ${issue.message}`);
  const secrets = options.secretStore ?? new FileSecretStore({ file: paths.secrets });
  if (secrets instanceof FileSecretStore && options.shell !== 'desktop') logger.info(secrets.warning);
  const events = new EventHub();
  const version = appVersion();

  let probed: Promise<{ report: HardwareReport; plan: InferencePlan }> | undefined;
  const getPlan = (refresh = false) => {
    if (!probed || refresh) {
      probed = (options.probe ?? (() => probeWithCache(join(paths.state, 'probe.json'), { refresh })))().then((report) => {
        const inf = settings.get().inference;
        return { report, plan: planInference(report, { preferOllama: inf.preferOllama, threads: inf.threads, maxLoadedModels: inf.maxLoadedModels, memoryBudgetMiB: inf.memoryBudgetMiB }) };
      });
    }
    return probed;
  };

  const resolveSecret = async (ref: string): Promise<string | undefined> =>
    ref.startsWith('env:') ? process.env[ref.slice(4)] : secrets.get(ref);

  const inference = new InferenceService({
    getSettings: () => settings.get(),
    getPlan: () => getPlan(),
    modelsDir: paths.models,
    resolveSecret,
    logger,
    onJob: (job) => events.emit('models.progress', job),
    ...(options.discoveryHome ? { discoveryHome: options.discoveryHome } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  // Declared before the services that call it; assigned once status() exists.
  let emitStatus: () => void = () => undefined;
  const matrix = buildMatrixServices({
    paths,
    logger,
    settings,
    secrets,
    inference,
    events,
    resourcesDir: options.resourcesDir ?? join(import.meta.dirname, '..', '..', 'resources'),
    overrides: options.overrides ?? {},
    ...(options.fetch ? { fetch: options.fetch } : {}),
    onStatusChange: () => emitStatus(),
  });

  // The homeserver may be missing (no Conduit binary yet): the rest still starts and status says why.
  const setup = new FirstRunService({ settings, getPlan: () => getPlan(), discover: () => inference.listModels(), logger });
  const host = new ServiceHost({ logger, optional: new Set(['setup', 'homeserver', 'provisioning', 'bots']) });
  host.add(setup).add(matrix.homeserver).add(matrix.provisioning).add(inference);
  if (matrix.bots) host.add(matrix.bots);

  /** With LAN access on, the bundled homeserver listens on the LAN address: phones use that URL. */
  const lanUrl = (): string | undefined => {
    const hs = settings.get().homeserver;
    const url = matrix.homeserverUrl();
    return hs.mode === 'bundled' && hs.lanAccess && url && !/\/\/(127\.|localhost|\[::1\])/.test(url) ? url : undefined;
  };

  /** The first-run screen shows while a bot's model still has to be downloaded. */
  const firstRunStatus = (): Pick<AppStatus, 'firstRun'> => {
    const pending = [...new Set(settings.get().bots.map((b) => b.model).filter((m) => inference.needsDownload(m)))];
    return pending.length > 0 ? { firstRun: { modelsToDownload: pending, ...(setup.reason ? { reason: setup.reason } : {}) } } : {};
  };

  const status = (): AppStatus => {
    const plan = inference.plan;
    const prov = matrix.provisioning.result;
    return {
      phase: host.phase,
      services: host.report().map(toContractReport),
      homeserver: {
        mode: settings.get().homeserver.mode,
        ...(matrix.homeserverUrl() ? { url: matrix.homeserverUrl() } : {}),
        ...(lanUrl() ? { lanUrl: lanUrl() } : {}),
        ...(prov?.serverName ? { serverName: prov.serverName } : {}),
        ...(prov?.roomId ? { roomId: prov.roomId } : {}),
      },
      inference: {
        backend: plan?.backend ?? 'cpu',
        ...(plan?.gpu ? { gpu: `${plan.gpu.vendor} ${plan.gpu.model}${plan.gpu.vramMiB ? `, ${Math.round(plan.gpu.vramMiB / 1024)} GiB` : ''}` } : {}),
        loadedModels: inference.loadedModels(),
      },
      bots: matrix.botStatuses(),
      ...firstRunStatus(),
      botsPaused: matrix.paused(),
      loopGuardTrips: matrix.loopGuardTrips(),
    };
  };
  host.onChange(() => emitStatus());
  settings.onChange((s) => {
    events.emit('settings.changed', s);
    if (!firstRunStatus().firstRun) setup.settle();
    // Bots, their models and the first-run wait all show in the status.
    emitStatus();
  });

  emitStatus = () => events.emit('status.changed', status());

  const health = (): Health => {
    const services = host.report();
    const phase = host.phase;
    const anyBad = services.some((s) => s.state.status === 'failed' || s.state.status === 'degraded');
    const st: Health['status'] =
      phase === 'running' ? (anyBad ? 'degraded' : 'ok') : phase === 'stopping' ? 'stopping' : phase === 'stopped' ? 'stopped' : 'starting';
    return { status: st, version, services };
  };

  const requireRunning = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new ControlError('Unavailable', `${what} is not ready yet.`);
    return value;
  };

  const handlers: Handlers = {
    'app.info': async () => ({ version, shell: options.shell ?? 'serve', platform: process.platform, dataDir: paths.root }),
    'status.get': async () => status(),
    'session.get': async () => requireRunning(await matrix.ownerSession(), 'The Matrix session'),
    'session.recoveryKey': async () => {
      const prov = requireRunning(matrix.provisioning.result, 'The Matrix session');
      const recoveryKey = await secrets.get(OWNER_RECOVERY_SECRET);
      if (recoveryKey === undefined) {
        throw new ControlError('NotFound', 'The owner has no recovery key: the team room is not encrypted.', { hint: 'Turn on room encryption in the settings; the app then makes one.' });
      }
      return { recoveryKey, created: prov.ownerRecoveryKeyCreated };
    },
    'session.encryption': async () => {
      const prov = requireRunning(matrix.provisioning.result, 'The Matrix session');
      return { encrypted: prov.encrypted, recoveryKeyKnown: (await secrets.get(OWNER_RECOVERY_SECRET)) !== undefined };
    },
    'session.setRecoveryKey': async ({ recoveryKey }) => {
      let saved: { replaced: boolean };
      try {
        saved = await saveRecoveryKey(secrets, OWNER_RECOVERY_SECRET, recoveryKey);
      } catch (err) {
        // The message says what is wrong and what a recovery key looks like.
        throw new ControlError('BadRequest', (err as Error).message);
      }
      logger.info({ replaced: saved.replaced }, 'the owner\'s recovery key was given in the window');
      // With the keys readable now, the owner vouches for the bots without waiting for a restart.
      matrix.revouch();
      return { saved: true as const, replaced: saved.replaced };
    },
    'settings.get': async () => settings.get(),
    'settings.update': async (patch) => {
      const next: Settings = applySettingsPatch(settings.get(), patch);
      // A bot given a model that was just downloaded gets the file itself, so it needs no network later.
      settings.set({ ...next, bots: next.bots.map((b) => ({ ...b, model: inference.resolveModelRef(b.model) })) });
      return settings.get();
    },
    'bots.list': async () => matrix.botInfos(await inference.listModels().catch(() => [])),
    'bots.setModel': async ({ botId, model }) => {
      const s = settings.get();
      if (!s.bots.some((b) => b.id === botId)) throw new ControlError('NotFound', `There is no bot "${botId}".`);
      settings.set({ ...s, bots: s.bots.map((b) => (b.id === botId ? { ...b, model } : b)) });
      const info = matrix.botInfos(await inference.listModels().catch(() => [])).find((b) => b.config.id === botId);
      return requireRunning(info, 'The bot');
    },
    'bots.pauseAll': async () => ({ paused: matrix.setPaused(true) }),
    'bots.resumeAll': async () => ({ paused: matrix.setPaused(false) }),
    'models.list': async () => inference.listModels(),
    'models.jobs': async () => inference.jobs(),
    'models.pull': async ({ ref }) => ({
      jobId: inference.pull(ref, (job) => {
        if (job.state !== 'done') return;
        // Bots waiting for this download (a first-run team, a bot set to an hf: model) now use the file.
        const s = settings.get();
        if (s.bots.some((b) => inference.resolveModelRef(b.model) !== b.model)) {
          settings.set({ ...s, bots: s.bots.map((b) => ({ ...b, model: inference.resolveModelRef(b.model) })) });
        }
      }),
    }),
    'models.cancel': async ({ jobId }) => ({ cancelled: inference.cancel(jobId) }),
    'probe.get': async (req) => toContractProbe(await getPlan(req?.refresh ?? false)),
    'app.openDataFolder': async () => {
      throw new ControlError('Unavailable', 'Opening folders is a desktop feature.', { hint: `The data folder is ${paths.root}.` });
    },
    'app.openLogsFolder': async () => {
      throw new ControlError('Unavailable', 'Opening folders is a desktop feature.', { hint: `The logs are in ${paths.logs}.` });
    },
  };

  return {
    host,
    handlers,
    events,
    settings,
    secrets,
    inference,
    matrix,
    health,
    status,
    close: async () => {
      await host.stop(2000);
    },
  };
}

function toContractReport(r: { name: string; state: ServiceState }): ContractServiceReport {
  const s = r.state;
  return {
    name: r.name,
    status: s.status,
    ...('detail' in s && s.detail ? { detail: s.detail } : {}),
    ...('error' in s ? { error: s.error } : {}),
    ...('hint' in s && s.hint ? { hint: s.hint } : {}),
  };
}
