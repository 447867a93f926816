// The room commands people type (!help, !models, !model, !reset, !status, !stop, !why, !cost, !run, !allow, !deny): parsing and the
// texts the runner answers with; the runner performs the actions.

export type Command =
  | { name: 'help' }
  | { name: 'models' }
  | { name: 'model'; bot: string; model: string }
  | { name: 'reset' }
  | { name: 'status' }
  | { name: 'stop' }
  | { name: 'why' }
  | { name: 'cost' }
  /** `!run <pipeline> <text>`; without a pipeline (or a text) the pipelines are listed. */
  | { name: 'run'; pipeline?: string; text: string }
  | { name: 'allow' }
  | { name: 'deny' }
  | { name: 'invalid'; reason: string };

const NAMES = new Set(['help', 'models', 'model', 'reset', 'status', 'stop', 'why', 'cost', 'run', 'allow', 'deny']);

/** The command a message body holds, or undefined when it is not one of ours. */
export function parseCommand(body: string): Command | undefined {
  const trimmed = body.trim();
  if (!trimmed.startsWith('!')) return undefined;
  const [head = '', ...args] = trimmed.slice(1).split(/\s+/);
  const name = head.toLowerCase();
  if (!NAMES.has(name)) return undefined;
  switch (name) {
    case 'model': {
      const [bot, model] = args;
      if (!bot || !model || args.length > 2)
        return {
          name: 'invalid',
          reason: 'Usage: !model <bot> <model reference>, e.g. !model qwen ollama:qwen2.5:0.5b',
        };
      return { name: 'model', bot: bot.replace(/^@/, ''), model };
    }
    case 'run': {
      // The text goes to the pipeline as written: only the command and the pipeline's name are taken off.
      const m = /^!\S+\s+(\S+)\s*([\s\S]*)$/.exec(trimmed);
      return m ? { name: 'run', pipeline: m[1]!, text: m[2]!.trim() } : { name: 'run', text: '' };
    }
    case 'help':
    case 'models':
    case 'reset':
    case 'status':
    case 'stop':
    case 'why':
    case 'cost':
    case 'allow':
    case 'deny':
      return { name };
    default:
      return undefined;
  }
}

export interface BotSummary {
  id: string;
  displayName: string;
  model: string;
}

export function helpText(bots: readonly BotSummary[]): string {
  const names = bots.map((b) => `@${b.displayName}`).join(', ') || '(no bots yet)';
  return [
    `Mention a bot to ask it: ${names}. Reply to a bot's message or write in its thread to go on with it.`,
    '',
    '- `!help`: this text',
    '- `!models`: the models each bot runs and the models available',
    '- `!model <bot> <model>`: switch a bot to another model',
    '- `!reset`: the bots forget the conversation before this point',
    '- `!status`: bots, queues, loop-guard and rate-limit counts',
    '- `!stop`: stop every answer being written in this room',
    '- `!why`: where the last answer here came from, and why',
    '- `!cost`: cloud spend today and this month',
    '- `!allow` / `!deny`: decide the tool call a bot is waiting on (or react ✅ / ❌ to its request)',
    "- `!task <name> …` in a question: answer it with that task's models",
    '- `!run <pipeline> <text>`: run a pipeline of models on the text; `!run` lists the pipelines',
  ].join('\n');
}

export function modelsText(bots: readonly BotSummary[], available: readonly string[]): string {
  const lines = bots.map((b) => `- ${b.displayName} (${b.id}): ${b.model}`);
  if (available.length) lines.push('', 'Available:', ...available.map((m) => `- ${m}`));
  return lines.join('\n');
}

/** Finds a bot by id, localpart or display name (case-insensitive). */
export function findBot<T extends BotSummary & { userId?: string }>(bots: readonly T[], name: string): T | undefined {
  const n = name.toLowerCase();
  return bots.find(
    (b) =>
      b.id.toLowerCase() === n ||
      b.displayName.toLowerCase() === n ||
      b.userId?.toLowerCase() === n ||
      b.userId?.slice(1).split(':')[0]?.toLowerCase() === n,
  );
}

export interface StatusFacts {
  bots: ReadonlyArray<BotSummary & { queued: number; running: number; answered: number }>;
  trips: { self: number; hops: number; budget: number };
  rateLimited: number;
  roomTokensLastHour: number;
}

export function statusText(s: StatusFacts): string {
  const lines = s.bots.map(
    (b) => `- ${b.displayName}: ${b.model}; ${b.running} running, ${b.queued} waiting, ${b.answered} answered`,
  );
  lines.push(
    `Loop guard trips: ${s.trips.hops} hop cap, ${s.trips.budget} token budget, ${s.trips.self} self.`,
    `Rate-limited requests: ${s.rateLimited}. Tokens used in this room in the last hour: ${s.roomTokensLastHour}.`,
  );
  return lines.join('\n');
}
