// What the control API's handlers act on: the app's stores and services, as the app core composed them.
import { ControlError, type AppStatus } from '../../../common/contract.ts';
import type { ApiKeyStore } from '../../api/api-keys.ts';
import type { MatrixServices } from '../../app/matrix-services.ts';
import type { InferenceService } from '../../inference/inference-service.ts';
import type { Logger } from '../../logging/logger.ts';
import type { McpService } from '../../mcp/mcp-service.ts';
import type { DataPaths } from '../../paths.ts';
import type { InferencePlan } from '../../probe/plan.ts';
import type { HardwareReport } from '../../probe/report.ts';
import type { SecretStore } from '../../settings/secret-store.ts';
import type { SettingsStore } from '../../settings/settings-store.ts';

export interface HandlerContext {
  paths: DataPaths;
  logger: Logger;
  settings: SettingsStore;
  secrets: SecretStore;
  inference: InferenceService;
  matrix: MatrixServices;
  /** The MCP servers (Settings → Tools). */
  tools: McpService;
  version: string;
  shell: 'serve' | 'desktop';
  status(): AppStatus;
  /** The OpenAI-compatible API's keys. */
  apiKeys: ApiKeyStore;
  /** Where the API answers now (serve's control server, or the desktop app's API server while on). */
  apiBaseUrl(): string | undefined;
  /** The hardware probe and the inference plan made from it, with the recommended model; `refresh` probes again. */
  getPlan(refresh?: boolean): Promise<{ report: HardwareReport; plan: InferencePlan }>;
}

/** The value, or a 503-style error saying what is not ready yet. */
export function requireRunning<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new ControlError('Unavailable', `${what} is not ready yet.`);
  return value;
}
