// What a person reads when the router has no model to try (privacy, a spent budget, no backend) or every model
// failed: what happened, which models were passed over and why, and what to change.
import type { BotConfig } from '../../common/settings-schema.ts';
import type { Logger } from '../logging/logger.ts';
import type { Candidate } from './router-rules.ts';
import { describeKind } from './sensitivity.ts';
import { InferenceError } from './types.ts';
import { PEER_ENDPOINT_PREFIX } from '../peers/peer-store.ts';

/** For refused models on paired peers: how to let them count as this machine. */
function peerTrustHint(refused: Candidate[]): string {
  const prefix = `openai:${PEER_ENDPOINT_PREFIX}`;
  const names = [
    ...new Set(
      refused.filter((s) => s.model.startsWith(prefix)).map((s) => s.model.slice(prefix.length).split('/')[0]),
    ),
  ];
  return names.length > 0
    ? ` A paired peer you trust as this machine may take them: agent-room peer trust ${names[0]} --local.`
    : '';
}

/** "a card number and an API key (openai)": the kinds found, never the values. */
export function describeKinds(kinds: readonly string[]): string {
  const d = kinds.map(describeKind);
  return d.length > 1 ? `${d.slice(0, -1).join(', ')} and ${d.at(-1)}` : (d[0] ?? 'sensitive data');
}

export function nothingToTry(
  bot: BotConfig,
  skipped: Candidate[],
  sensitive: string[],
  logger?: Logger,
): InferenceError {
  const refused = skipped.filter((s) => s.reason.startsWith('refused'));
  const spent = skipped.filter((s) => s.reason.startsWith('budget:'));
  if (!bot.localOnly && sensitive.length > 0 && refused.length > 0) {
    logger?.warn({ bot: bot.id, kinds: sensitive }, 'sensitive request refused: no model on this machine');
    return new InferenceError(
      'PolicyRefused',
      `Bot "${bot.id}" did not send this request: it holds ${describeKinds(sensitive)}, which stays on this machine, and none of the bot's models does (${refused.map((s) => s.model).join(', ')} would leave it).`,
      {
        hint: `Add a local model to the bot's fallback chain (a llama:… GGUF file, or an ollama:… model served on this machine) to answer such requests, or remove the sensitive data.${peerTrustHint(refused)}`,
      },
    );
  }
  if (bot.localOnly && refused.length > 0) {
    return new InferenceError(
      'PolicyRefused',
      `Bot "${bot.id}" is local-only, and none of its models stays on this machine: ${refused.map((s) => s.model).join(', ')} would leave it.`,
      {
        hint: `Add a local model (llama:… or an Ollama on localhost) to the bot or its fallback chain, or turn off local-only for this bot.${peerTrustHint(refused)}`,
      },
    );
  }
  if (spent.length > 0) {
    const why = spent[0]?.reason.slice('budget: '.length).replace(/ \(.*\)$/, '') ?? 'a budget is spent';
    return new InferenceError('PolicyRefused', `Bot "${bot.id}" did not send this request: ${why}.`, {
      hint: "Add a local model to the bot's fallback chain to answer while the budget is spent, or raise the endpoint's budget in the settings; `!cost` shows the spend.",
    });
  }
  return new InferenceError(
    'ModelNotFound',
    `Bot "${bot.id}": no backend takes any of its models (${skipped.map((s) => s.model).join(', ')}).`,
    {
      hint: 'Check the model references in the bot settings (llama:…, ollama:…, openai:<endpoint>/<model>).',
    },
  );
}

export function allFailed(
  bot: BotConfig,
  attempts: Array<{ model: string; error?: { code: string; message: string } }>,
  skipped: Candidate[],
  sensitive: string[],
): InferenceError {
  const last = attempts[attempts.length - 1];
  const summary = attempts.map((a) => `${a.model} (${a.error?.code}: ${a.error?.message})`).join('; ');
  const why = bot.localOnly ? 'the bot is local-only' : `the request holds ${describeKinds(sensitive)}`;
  const privacy = skipped.some((s) => s.reason.startsWith('refused'))
    ? ` Models outside this machine were not tried because ${why}.`
    : '';
  return new InferenceError(
    (last?.error?.code as InferenceError['code'] | undefined) ?? 'BackendUnavailable',
    `Bot "${bot.id}": every model failed: ${summary}.${privacy}`,
  );
}
