// Tests: a minimal core behind the shell's port: an empty ServiceHost, the settings
// channels, and Unavailable for the rest. It lets the shell start, show its tray and quit cleanly.
import { ControlError, applySettingsPatch, type AppStatus, type CoreHandlers } from '../../main/common/contract.ts';
import { EventHub } from '../../main/core/control/event-hub.ts';
import { ServiceHost } from '../../main/core/lifecycle/service-host.ts';
import type { AppCore, CoreOptions } from '../../main/electron/core-port.ts';

export function createPlaceholderCore(options: CoreOptions): AppCore {
  const host = new ServiceHost({ logger: options.logger });
  const events = new EventHub();
  const unavailable = (what: string) => () =>
    Promise.reject(new ControlError('Unavailable', `${what} is not part of this build yet.`));
  const status = (): AppStatus => {
    const s = options.settingsStore.get();
    return {
      phase: host.phase,
      services: [],
      homeserver:
        s.homeserver.mode === 'external'
          ? { mode: 'external', url: s.homeserver.url }
          : { mode: 'bundled', serverName: s.homeserver.serverName },
      inference: { backend: 'cpu', loadedModels: [] },
      bots: [],
      botsPaused: false,
      loopGuardTrips: 0,
    };
  };
  host.onChange(() => events.emit('status.changed', status()));
  options.settingsStore.onChange((s) => events.emit('settings.changed', s));
  const handlers: CoreHandlers = {
    'app.info': () =>
      Promise.resolve({ version: '0.1.0', shell: 'desktop', platform: process.platform, dataDir: options.dataDir }),
    'status.get': () => Promise.resolve(status()),
    'session.get': unavailable('The chat session'),
    'session.recoveryKey': unavailable('The recovery key'),
    'session.encryption': unavailable('Encryption'),
    'session.setRecoveryKey': unavailable('Encryption'),
    'settings.get': () => Promise.resolve(options.settingsStore.get()),
    'settings.update': (patch) => Promise.resolve(options.settingsStore.update((s) => applySettingsPatch(s, patch))),
    'bots.list': () => Promise.resolve([]),
    'bots.setModel': unavailable('Switching models'),
    'bots.pauseAll': unavailable('Pausing bots'),
    'bots.resumeAll': unavailable('Resuming bots'),
    'models.list': () => Promise.resolve([]),
    'models.jobs': () => Promise.resolve([]),
    'models.pull': unavailable('Downloading models'),
    'models.cancel': unavailable('Cancelling downloads'),
    'probe.get': unavailable('The hardware probe'),
    'apiKeys.list': () => Promise.resolve({ keys: [] }),
    'apiKeys.create': unavailable('API keys'),
    'apiKeys.revoke': unavailable('API keys'),
    'audit.list': () => Promise.resolve([]),
    'tools.servers': () => Promise.resolve([]),
    'tools.test': ({ server }) => Promise.reject(new Error(`No MCP server is called "${server}".`)),
  };
  return { host, handlers, events };
}
