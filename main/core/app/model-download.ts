// A model download whose file the bots waiting for it then use: the window's download button, `models.pull` and the
// first run's automatic download of the recommended model all start one.
import type { InferenceService } from '../inference/inference-service.ts';
import type { SettingsStore } from '../settings/settings-store.ts';

/** Starts downloading `ref`; returns the job id (progress comes as the service's job events). */
export function downloadForBots(
  settings: SettingsStore,
  inference: Pick<InferenceService, 'pull' | 'resolveModelRef'>,
  ref: string,
): string {
  return inference.pull(ref, (job) => {
    if (job.state !== 'done') return;
    // Bots waiting for this download (a first-run team, a bot set to an hf: model) now use the file.
    const s = settings.get();
    if (s.bots.some((b) => inference.resolveModelRef(b.model) !== b.model)) {
      settings.set({ ...s, bots: s.bots.map((b) => ({ ...b, model: inference.resolveModelRef(b.model) })) });
    }
  });
}
