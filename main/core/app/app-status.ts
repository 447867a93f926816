// What the status panel, the tray and /health show, read from the services as they are now.
import type { AppStatus, ServiceReport as ContractServiceReport } from '../../common/contract.ts';
import type { AdmissionStats } from '../api/api-admission.ts';
import type { EndpointHealth } from '../inference/endpoint-failover.ts';
import type { InferenceService } from '../inference/inference-service.ts';
import type { ServiceHost } from '../lifecycle/service-host.ts';
import type { ServiceState } from '../lifecycle/service.ts';
import type { SettingsStore } from '../settings/settings-store.ts';
import type { FirstRunService } from './first-run.ts';
import type { MatrixServices } from './matrix-services.ts';

export interface Health {
  status: 'starting' | 'ok' | 'degraded' | 'stopping' | 'stopped';
  version: string;
  services: Array<{ name: string; state: ServiceState }>;
  /** The selector's figures per task and the cloud spend (aggregates only: no text, no rooms). */
  tasks?: AppStatus['inference']['tasks'];
  spend?: AppStatus['inference']['spend'];
  /** Context sequences of in-process models held by requests now (0 when nothing runs: none leaked). */
  sequencesInUse?: number;
  /** The /v1 API's requests running and waiting now, and those refused with 429 since the start. */
  api?: AdmissionStats;
  /** Each paired peer's endpoint: whether its last check or request succeeded, when, and the error. */
  peers?: EndpointHealth[];
}

export interface StatusSources {
  host: ServiceHost;
  settings: SettingsStore;
  inference: InferenceService;
  matrix: MatrixServices;
  setup: FirstRunService;
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

/** With LAN access on, the bundled homeserver listens on the LAN address: phones use that URL. */
function lanUrl({ settings, matrix }: StatusSources): string | undefined {
  const hs = settings.get().homeserver;
  const url = matrix.homeserverUrl();
  return hs.mode === 'bundled' && hs.lanAccess && url && !/\/\/(127\.|localhost|\[::1\])/.test(url) ? url : undefined;
}

/** The first-run screen shows while a bot's model still has to be downloaded. */
export function firstRunStatus({ settings, inference, setup }: StatusSources): Pick<AppStatus, 'firstRun'> {
  const pending = [
    ...new Set(
      settings
        .get()
        .bots.map((b) => b.model)
        .filter((m) => inference.needsDownload(m)),
    ),
  ];
  return pending.length > 0
    ? { firstRun: { modelsToDownload: pending, ...(setup.reason ? { reason: setup.reason } : {}) } }
    : {};
}

/** Per-task figures and cloud spend, once the router exists. */
function routerFigures(inference: InferenceService): Pick<AppStatus['inference'], 'tasks' | 'spend'> {
  try {
    return { tasks: inference.router.taskFigures(), spend: inference.router.spend() };
  } catch {
    return {}; // inference has not started yet
  }
}

export function appStatus(src: StatusSources): AppStatus {
  const { host, settings, inference, matrix } = src;
  const plan = inference.plan;
  const prov = matrix.provisioning.result;
  const lan = lanUrl(src);
  return {
    phase: host.phase,
    services: host.report().map(toContractReport),
    homeserver: {
      mode: settings.get().homeserver.mode,
      ...(matrix.homeserverUrl() ? { url: matrix.homeserverUrl() } : {}),
      ...(lan ? { lanUrl: lan } : {}),
      ...(prov?.serverName ? { serverName: prov.serverName } : {}),
      ...(prov?.roomId ? { roomId: prov.roomId } : {}),
    },
    inference: {
      backend: plan?.backend ?? 'cpu',
      ...(plan?.gpu
        ? {
            gpu: `${plan.gpu.vendor} ${plan.gpu.model}${plan.gpu.vramMiB ? `, ${Math.round(plan.gpu.vramMiB / 1024)} GiB` : ''}`,
          }
        : {}),
      loadedModels: inference.loadedModels(),
      ...routerFigures(inference),
    },
    bots: matrix.botStatuses(),
    ...firstRunStatus(src),
    botsPaused: matrix.paused(),
    loopGuardTrips: matrix.loopGuardTrips(),
  };
}

export function appHealth(
  host: ServiceHost,
  version: string,
  inference?: InferenceService,
  api?: { stats(): AdmissionStats },
): Health {
  const services = host.report();
  const phase = host.phase;
  const anyBad = services.some((s) => s.state.status === 'failed' || s.state.status === 'degraded');
  const status: Health['status'] =
    phase === 'running'
      ? anyBad
        ? 'degraded'
        : 'ok'
      : phase === 'stopping'
        ? 'stopping'
        : phase === 'stopped'
          ? 'stopped'
          : 'starting';
  return {
    status,
    version,
    services,
    ...(inference
      ? { ...routerFigures(inference), sequencesInUse: inference.sequencesInUse(), peers: inference.peerHealth() }
      : {}),
    ...(api ? { api: api.stats() } : {}),
  };
}
