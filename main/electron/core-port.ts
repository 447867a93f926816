// What the desktop shell needs from the headless core: the port main.ts plugs createAppCore into.
// Kept as an interface so the shell can be tested with a fake core and the core can change freely behind it.
import type { CoreHandlers, EventSource } from '../common/contract.ts';
import type { Logger } from '../core/logging/logger.ts';
import type { SecretStore } from '../core/settings/secret-store.ts';
import type { SettingsStore } from '../core/settings/settings-store.ts';
import type { HostPhase } from '../core/lifecycle/service-host.ts';

export interface CoreOptions {
  dataDir: string;
  settingsStore: SettingsStore;
  secretStore: SecretStore;
  logger: Logger;
  /** Folder holding bin/<platform>-<arch> (process.resourcesPath when packaged). */
  resourcesDir: string;
}

/** The part of ServiceHost the shell uses: start when ready, stop under one deadline on quit. */
export interface HostPort {
  readonly phase: HostPhase;
  start(): Promise<void>;
  stop(deadlineMs?: number): Promise<void>;
  onChange(listener: () => void): () => void;
}

export interface AppCore {
  host: HostPort;
  /** Every channel but the desktop-only ones; the shell adds those. */
  handlers: CoreHandlers;
  events: EventSource;
}

export type CreateCore = (options: CoreOptions) => AppCore | Promise<AppCore>;
