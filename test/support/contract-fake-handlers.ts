// Handlers for every core channel of the control contract, answering canned data: for transport tests.
import type { AppStatus, BotInfo, CoreHandlers, Handlers } from '../../main/common/contract.ts';
import { applySettingsPatch } from '../../main/common/contract.ts';
import { defaultSettings, type Settings } from '../../main/common/settings-schema.ts';

export function fakeStatus(overrides: Partial<AppStatus> = {}): AppStatus {
  return {
    phase: 'running',
    services: [{ name: 'homeserver', status: 'running' }],
    homeserver: {
      mode: 'bundled',
      url: 'http://127.0.0.1:6167',
      serverName: 'agent-room.localhost',
      roomId: '!team:agent-room.localhost',
    },
    inference: { backend: 'cpu', loadedModels: [] },
    bots: [],
    botsPaused: false,
    loopGuardTrips: 0,
    ...overrides,
  };
}

function botInfo(id: string, model: string): BotInfo {
  return {
    config: {
      id,
      displayName: id,
      model,
      systemPrompt: '',
      temperature: 0.7,
      maxTokens: 256,
      localOnly: false,
      keepAliveSeconds: 0,
      pinned: false,
      fallback: [],
    },
    status: { id, displayName: id, model, busy: false, stats: { replies: 0 } },
    availableModels: [model],
  };
}

export function fakeHandlers(): CoreHandlers {
  let settings: Settings = defaultSettings();
  let paused = false;
  const apiKeys: Array<{ name: string; prefix: string; createdAt: string }> = [];
  return {
    'app.info': () =>
      Promise.resolve({ version: '0.0.0-test', shell: 'serve', platform: 'linux', dataDir: '/tmp/agent-room-test' }),
    'apiKeys.list': () => Promise.resolve({ keys: [...apiKeys], baseUrl: 'http://127.0.0.1:8765/v1' }),
    'apiKeys.create': ({ name }) => {
      const made = { name, prefix: 'ar-Test', createdAt: '2026-01-01T00:00:00.000Z' };
      apiKeys.push(made);
      return Promise.resolve({ ...made, key: `ar-Test${'x'.repeat(40)}` });
    },
    'apiKeys.revoke': ({ name }) => {
      const i = apiKeys.findIndex((k) => k.name === name);
      if (i >= 0) apiKeys.splice(i, 1);
      return Promise.resolve({ revoked: i >= 0 });
    },
    'status.get': () => Promise.resolve(fakeStatus({ botsPaused: paused })),
    'session.get': () =>
      Promise.resolve({
        homeserverUrl: 'http://127.0.0.1:6167',
        userId: '@owner:agent-room.localhost',
        accessToken: 'tok',
        deviceId: 'DEV',
        roomId: '!team:agent-room.localhost',
      }),
    'session.recoveryKey': () => Promise.resolve({ recoveryKey: 'EsTc 1234 5678', created: false }),
    'session.encryption': () => Promise.resolve({ encrypted: true, recoveryKeyKnown: true }),
    'session.setRecoveryKey': () => Promise.resolve({ saved: true as const, replaced: false }),
    'settings.get': () => Promise.resolve(settings),
    'settings.update': (patch) => {
      settings = applySettingsPatch(settings, patch);
      return Promise.resolve(settings);
    },
    'bots.list': () => Promise.resolve([botInfo('qwen', 'ollama:qwen2.5')]),
    'bots.setModel': (req) => Promise.resolve(botInfo(req.botId, req.model)),
    'bots.pauseAll': () => Promise.resolve({ paused: (paused = true) }),
    'bots.resumeAll': () => Promise.resolve({ paused: (paused = false) }),
    'models.list': () => Promise.resolve([]),
    'models.jobs': () => Promise.resolve([]),
    'models.pull': () => Promise.resolve({ jobId: 'job-1' }),
    'models.cancel': () => Promise.resolve({ cancelled: true }),
    'audit.list': () => Promise.resolve([]),
    'tools.servers': () =>
      Promise.resolve([
        {
          id: 'files',
          transport: 'stdio',
          target: 'mcp-server-filesystem /notes',
          status: 'idle',
          local: true,
          usedBy: ['qwen'],
        },
      ]),
    'tools.test': ({ server }) =>
      Promise.resolve({
        id: server,
        transport: 'stdio',
        target: 'mcp-server-filesystem /notes',
        status: 'ready',
        local: true,
        pid: 4242,
        tools: [
          { name: 'read_text_file', description: 'Read a file', readOnly: true },
          { name: 'write_file', description: 'Write a file', readOnly: false },
        ],
        usedBy: ['qwen'],
      }),
    'probe.get': () =>
      Promise.resolve({
        report: {
          os: { platform: 'linux', arch: 'x64', appleSilicon: false },
          cpu: { model: 'test', cores: 2 },
          memory: { totalBytes: 8 * 2 ** 30 },
          gpus: [],
        },
        plan: {
          backend: 'cpu',
          threads: 2,
          gpuLayers: 0,
          maxLoadedModels: 1,
          memoryBudgetMiB: 4096,
          recommendedModels: [],
          reasons: ['no GPU found'],
        },
      }),
  };
}

/** The core's handlers plus desktop-only ones that record what they opened. */
export function fakeDesktopHandlers(opened: string[] = []): Handlers {
  return {
    ...fakeHandlers(),
    'app.openDataFolder': () => {
      opened.push('data');
      return Promise.resolve({ opened: '/tmp/data' });
    },
    'app.openLogsFolder': () => {
      opened.push('logs');
      return Promise.resolve({ opened: '/tmp/data/logs' });
    },
    'app.updateState': () => Promise.resolve({ phase: 'current', version: '0.1.0' }),
    'app.restartToUpdate': () => Promise.resolve({ restarting: false }),
  };
}
