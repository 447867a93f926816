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
import { McpService } from '../mcp/mcp-service.ts';
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
import { PeerService } from '../peers/peer-service.ts';
import { peerInference, PeerStore } from '../peers/peer-store.ts';
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
  tools: McpService;
  matrix: MatrixServices;
  /** The OpenAI-compatible API (/v1): serve mounts it on its control server; the desktop app runs `apiService`. */
  api: ApiHandler;
  apiKeys: ApiKeyStore;
  apiService: ApiService | undefined;
  /** The TLS listener other machines pair with and reach /v1 through. */
  peers: PeerService;
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
const OPTIONAL_SERVICES = new Set(['setup', 'homeserver', 'provisioning', 'bots', 'api', 'tools', 'peers']);

/**
 * The /v1 API: serve mounts it on its control server; the desktop app has none, so it gets its own when on. Both
 * also serve it to paired peers over TLS (the peer listener).
 */
function buildApi(
  options: AppCoreOptions,
  settings: SettingsStore,
  inference: InferenceService,
  getPlan: () => Promise<{ plan: InferencePlan }>,
): Pick<AppCore, 'api' | 'apiKeys' | 'apiService' | 'peers'> {
  const { paths, logger } = options;
  const apiKeys = new ApiKeyStore({ file: apiKeysFile(paths.state) });
  const api = new ApiHandler({ settings: () => settings.get(), keys: apiKeys, inference, logger });
  const apiService = options.shell === 'desktop' ? new ApiService({ handler: api, settings, logger }) : undefined;
  const shell = options.shell ?? 'serve';
  const peers = new PeerService({ stateDir: paths.state, settings, api, keys: apiKeys, getPlan, shell, logger });
  return { apiKeys, api, apiService, peers };
}

function inferenceService(
  options: AppCoreOptions,
  settings: SettingsStore,
  secrets: SecretStore,
  events: EventHub,
  getPlan: () => Promise<{ report: HardwareReport; plan: InferencePlan }>,
): InferenceService {
  return new InferenceService({
    getSettings: () => settings.get(),
    getPlan: () => getPlan(),
    modelsDir: options.paths.models,
    auditFile: auditFile(options.paths.state),
    resolveSecret: async (ref) => (ref.startsWith('env:') ? process.env[ref.slice(4)] : secrets.get(ref)),
    logger: options.logger,
    onJob: (job) => events.emit('models.progress', job),
    ...(options.discoveryHome ? { discoveryHome: options.discoveryHome } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    peers: peerInference(new PeerStore(options.paths.state), () => settings.get().peers.connectTimeoutMs),
  });
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

  const inference = inferenceService(options, settings, secrets, events, plans.base);

  // Declared before the services that call it; assigned once status() exists.
  let emitStatus: () => void = () => undefined;
  // MCP servers start on a bot's first tool call; stopped after the bots, so no reply is left mid-call.
  const tools = new McpService({
    getSettings: () => settings.get(),
    resolveSecret: async (name) => secrets.get(name),
    logger,
    audit: () => inference.auditStore,
    version,
    onChange: () => emitStatus(),
  });
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
    tools,
  });

  // The homeserver may be missing (no Conduit binary yet): the rest still starts and status says why.
  const setup = firstRunService(settings, plans.withModel, inference, matrix, logger);
  const host = new ServiceHost({ logger, optional: OPTIONAL_SERVICES });
  host.add(setup).add(matrix.homeserver).add(matrix.provisioning).add(inference).add(tools);
  if (matrix.bots) host.add(matrix.bots);
  const apiParts = buildApi(options, settings, inference, plans.base);
  if (apiParts.apiService) host.add(apiParts.apiService);
  host.add(apiParts.peers);

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
    tools,
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
    tools,
    matrix,
    ...apiParts,
    health: () => appHealth(host, version, inference, apiParts.api),
    status,
    close: async () => {
      await host.stop(2000);
    },
  };
}
