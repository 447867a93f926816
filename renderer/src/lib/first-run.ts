// First-run decisions of the chat window: which bots get the model the person chose, and which download the
// screen follows when the core started one itself.
import type { PullJob } from '../../../main/common/contract.ts';
import type { BotConfig, SettingsInput } from '../../../main/common/settings-schema.ts';

/** A bot as settings.update takes it: defaults fill what is left out. */
export type BotInput = NonNullable<SettingsInput['bots']>[number];

/**
 * The team after the person picked `model` on the first-run screen. With no bot yet, one new bot uses it.
 * Otherwise every bot still waiting for a download (its model is in `waitingFor`) switches to it, so a
 * team made from a recommendation that cannot be downloaded here still starts with the model chosen
 * instead; the core resolves a downloaded URL or hf: reference to the file it saved.
 */
export function teamWithModel(
  bots: readonly BotConfig[],
  model: string,
  waitingFor: readonly string[],
  newBot: { id: string; displayName: string },
): BotInput[] {
  if (bots.length === 0) return [{ ...newBot, model }];
  const waiting = new Set(waitingFor);
  return bots.map((b) => (waiting.has(b.model) ? { ...b, model } : b));
}

/** `llama:hf:…` and `hf:…` name the same download. */
const downloadKey = (ref: string) => ref.replace(/^llama:/, '');

/**
 * The download of a model the team waits for that the core started (a first run downloads the recommended model by
 * itself): the newest such job, unless the person put it aside (`dismissed`) to choose another model.
 */
export function coreDownload(
  jobs: Iterable<PullJob>,
  waitingFor: readonly string[],
  dismissed: ReadonlySet<string>,
): PullJob | undefined {
  const waiting = new Set(waitingFor.map(downloadKey));
  let found: PullJob | undefined;
  for (const job of jobs) if (waiting.has(downloadKey(job.ref)) && !dismissed.has(job.jobId)) found = job;
  return found;
}
