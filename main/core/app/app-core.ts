// The headless core: settings, secrets, the services in start order (homeserver → provisioning →
// inference → bots), the control contract's handlers and events. serve and Electron both build on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppStatus, Handlers } from '../../common/contract.ts';
import { ApiHandler } from '../api/api-handler.ts';
import { ApiKeyStore, apiKeysFile } from '../api/api-keys.ts';
import { ApiService } from '../api/api-service.ts';
import { auditFile } from '../audit/audit-store.ts';
import { EventHub } from '../control/event-hub.ts';
import { InferenceService } from '../inference/inference-service.ts';
import { ServiceHost } from '../lifecycle/service-host.ts';
import type { Logger } from '../logging/logger.ts';
import { routeSdkLogs } from '../logging/sdk-logging.ts';
import type { DataPaths } from '../paths.ts';
import { planInference, type InferencePlan } from '../probe/plan.ts';
import { recommendModel, withRecommendation } from '../probe/recommend.ts';
import { probeWithCache } from '../probe/probe-cache.ts';
import type { HardwareReport } from '../probe/report.ts';
import { FileSecretStore, type SecretStore } from '../settings/secret-store.ts';
import { ConfSettingsStore, type SettingsStore } from '../settings/settings-store.ts';
import { controlHandlers } from '../control/handlers/index.ts';
import { appHealth, appStatus, firstRunStatus, type Health, type StatusSources } from './app-status.ts';
import { FirstRunService } from './first-run.ts';
import { downloadForBots } from './model-download.ts';
import { buildMatrixServices, type MatrixServices, type MatrixOverrides } from './matrix-services.ts';

export type { Health } from './app-status.ts';

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
  /** The OpenAI-compatible API (/v1): serve mounts it on its control server; the desktop app runs `apiService`. */
  api: ApiHandler;
  apiKeys: ApiKeyStore;
  apiService: ApiService | undefined;
  health(): Health;
  status(): AppStatus;
  close(): Promise<void>;
}

export function appVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The settings and secret stores: the shell's, else conf and a 0600 file; what the settings file got wrong is logged. */
function openStores(options: AppCoreOptions): { settings: SettingsStore; secrets: SecretStore } {
  const { paths, logger } = options;
  const settings = options.settingsStore ?? new ConfSettingsStore({ dataDir: paths.root, logger });
  for (const issue of settings.issues)
    logger.warn({ key: issue.path, reason: issue.message }, `settings: ${issue.path}: ${issue.message}`);
  const secrets = options.secretStore ?? new FileSecretStore({ file: paths.secrets });
  if (secrets instanceof FileSecretStore && options.shell !== 'desktop') logger.info(secrets.warning);
  return { settings, secrets };
}

type Planned = { report: HardwareReport; plan: InferencePlan };

/**
 * The hardware report and the inference plan made from it with the settings: probed once, and again on refresh.
 * `withModel` adds the recommended model (node-llama-cpp's estimate over the candidates, recommend.ts): only the
 * first run and the probe screen need it, so inference starts without waiting for it.
 */
function cachedPlan(
  settings: SettingsStore,
  probe: (refresh: boolean) => Promise<HardwareReport>,
): { base: (refresh?: boolean) => Promise<Planned>; withModel: (refresh?: boolean) => Promise<Planned> } {
  let probed: Promise<Planned> | undefined;
  const recommended = new WeakMap<Promise<Planned>, Promise<Planned>>();
  const base = (refresh = false) => {
    if (!probed || refresh) {
      probed = probe(refresh).then((report) => {
        const inf = settings.get().inference;
        return {
          report,
          plan: planInference(report, {
            preferOllama: inf.preferOllama,
            threads: inf.threads,
            maxLoadedModels: inf.maxLoadedModels,
            memoryBudgetMiB: inf.memoryBudgetMiB,
          }),
        };
      });
    }
    return probed;
  };
  const withModel = (refresh = false) => {
    const planned = base(refresh);
    let p = recommended.get(planned);
    if (!p) {
      p = planned.then(async ({ report, plan }) => {
        const budget = settings.get().inference.memoryBudgetMiB;
        const pick = await recommendModel(report, plan, budget > 0 ? { memoryBudgetMiB: budget } : {});
        return { report, plan: withRecommendation(plan, pick) };
      });
      recommended.set(planned, p);
    }
    return p;
  };
  return { base, withModel };
}

/**
 * First-run setup: the team from the recommendation, whose model downloads at once. Without the bot runner
 * (serve --no-bots) no bot waits for the model, so the download waits for a click.
 */
function firstRunService(
  settings: SettingsStore,
  getPlan: () => Promise<Planned>,
  inference: InferenceService,
  matrix: MatrixServices,
  logger: Logger,
): FirstRunService {
  return new FirstRunService({
    settings,
    getPlan,
    discover: () => inference.listModels(),
    ...(matrix.bots ? { startDownload: (ref: string) => void downloadForBots(settings, inference, ref) } : {}),
    logger,
  });
}

/** Services whose failure leaves the rest running (the status says why). */
const OPTIONAL_SERVICES = new Set(['setup', 'homeserver', 'provisioning', 'bots', 'api']);

/** The /v1 API: serve mounts it on its control server; the desktop app has none, so it gets its own when on. */
function buildApi(
  options: AppCoreOptions,
  settings: SettingsStore,
  inference: InferenceService,
): Pick<AppCore, 'api' | 'apiKeys' | 'apiService'> {
  const { paths, logger } = options;
  const apiKeys = new ApiKeyStore({ file: apiKeysFile(paths.state) });
  const api = new ApiHandler({ settings: () => settings.get(), keys: apiKeys, inference, logger });
  const apiService = options.shell === 'desktop' ? new ApiService({ handler: api, settings, logger }) : undefined;
  return { apiKeys, api, apiService };
}

export async function createAppCore(options: AppCoreOptions): Promise<AppCore> {
  const { paths, logger } = options;
  routeSdkLogs(logger);
  const { settings, secrets } = openStores(options);
  const events = new EventHub();
  const version = appVersion();
  const plans = cachedPlan(settings, (refresh) =>
    (options.probe ?? (() => probeWithCache(join(paths.state, 'probe.json'), { refresh })))(),
  );

  const inference = new InferenceService({
    getSettings: () => settings.get(),
    getPlan: () => plans.base(),
    modelsDir: paths.models,
    auditFile: auditFile(paths.state),
    resolveSecret: async (ref) => (ref.startsWith('env:') ? process.env[ref.slice(4)] : secrets.get(ref)),
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
  const setup = firstRunService(settings, plans.withModel, inference, matrix, logger);
  const host = new ServiceHost({ logger, optional: OPTIONAL_SERVICES });
  host.add(setup).add(matrix.homeserver).add(matrix.provisioning).add(inference);
  if (matrix.bots) host.add(matrix.bots);
  const apiParts = buildApi(options, settings, inference);
  if (apiParts.apiService) host.add(apiParts.apiService);

  const sources: StatusSources = { host, settings, inference, matrix, setup };
  const status = (): AppStatus => appStatus(sources);
  host.onChange(() => emitStatus());
  settings.onChange((s) => {
    events.emit('settings.changed', s);
    if (!firstRunStatus(sources).firstRun) setup.settle();
    // Bots, their models and the first-run wait all show in the status.
    emitStatus();
  });
  emitStatus = () => events.emit('status.changed', status());

  const handlers = controlHandlers({
    paths,
    logger,
    settings,
    secrets,
    inference,
    matrix,
    version,
    shell: options.shell ?? 'serve',
    status,
    getPlan: plans.withModel,
    apiKeys: apiParts.apiKeys,
    apiBaseUrl: () => apiParts.api.baseUrl,
  });
  return {
    host,
    handlers,
    events,
    settings,
    secrets,
    inference,
    matrix,
    ...apiParts,
    health: () => appHealth(host, version, inference, apiParts.api),
    status,
    close: async () => {
      await host.stop(2000);
    },
  };
}
