// Settings, the bots (their models, pause and resume), models on disk and their downloads, and the hardware probe.
import { ControlError, type Handlers } from '../../../common/contract.ts';
import { applySettingsPatch } from '../../../common/contract-settings.ts';
import type { Settings } from '../../../common/settings-schema.ts';
import { downloadForBots } from '../../app/model-download.ts';
import { toContractProbe } from '../../probe/contract-probe.ts';
import { requireRunning, type HandlerContext } from './context.ts';

type SettingsAndBots = Pick<
  Handlers,
  'settings.get' | 'settings.update' | 'bots.list' | 'bots.setModel' | 'bots.pauseAll' | 'bots.resumeAll'
>;
type ModelHandlers = Pick<Handlers, 'models.list' | 'models.jobs' | 'models.pull' | 'models.cancel' | 'probe.get'>;

export function settingsAndBotHandlers({ settings, inference, matrix }: HandlerContext): SettingsAndBots {
  return {
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
  };
}

export function modelHandlers({ settings, inference, getPlan }: HandlerContext): ModelHandlers {
  return {
    'models.list': async () => inference.listModels(),
    'models.jobs': async () => inference.jobs(),
    'models.pull': async ({ ref }) => ({ jobId: downloadForBots(settings, inference, ref) }),
    'models.cancel': async ({ jobId }) => ({ cancelled: inference.cancel(jobId) }),
    'probe.get': async (req) => toContractProbe(await getPlan(req?.refresh ?? false)),
  };
}
