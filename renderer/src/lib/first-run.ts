// First-run decisions of the chat window: which bots get the model the person chose.
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
