// The room commands (!help, !models, !model, !reset, !status, !stop, !why, !cost, !allow, !deny; !run is queued: runner-pipeline.ts) carried out through a narrow view of the runner;
// the runner posts the text as a notice in reply, so it never addresses a bot or enters a model's context.
import { errorMessage } from '../lifecycle/service.ts';
import { findBot, helpText, modelsText, statusText, type BotSummary, type Command } from './commands.ts';
import type { MessageView } from './mentions.ts';
import type { BotRunnerStatus, Worker } from './runner-types.ts';

/** What the commands may see and do of the runner. */
export interface CommandContext {
  bots: ReadonlyArray<BotSummary & { userId: string }>;
  /** The models inference can run; throws when they cannot be listed. */
  listModels(): Promise<string[]>;
  /** Switches a bot's model now; persists it, throwing when saving failed (the switch then lasts until restart). */
  setModel(botId: string, model: string): Promise<void>;
  status(): BotRunnerStatus;
  roomTokensLastHour(roomId: string): number;
  /** Aborts every running or waiting reply in the room; how many. */
  stopRoom(roomId: string): number;
  /** Why the room's last answer came from where it came from. */
  why(roomId: string): string | undefined;
  /** The cloud spend; undefined where inference cannot say. */
  cost(): string | undefined;
  /** `!allow` / `!deny` from `sender`: decides the room's oldest waiting tool call; the answer's text. */
  decide(roomId: string, sender: string, allow: boolean): string;
}

async function modelText(ctx: CommandContext, botName: string, model: string): Promise<string> {
  const bot = findBot(ctx.bots, botName);
  if (!bot) return `No bot called "${botName}". Bots: ${ctx.bots.map((b) => b.id).join(', ')}.`;
  try {
    await ctx.setModel(bot.id, model);
    return `${bot.displayName} now runs ${model}.`;
  } catch (err) {
    return `${bot.displayName} runs ${model} until the next restart; saving the setting failed: ${errorMessage(err)}`;
  }
}

/** The notice that answers `command` in `roomId`. */
export async function commandReply(
  ctx: CommandContext,
  roomId: string,
  command: Command,
  sender = '',
): Promise<string> {
  switch (command.name) {
    case 'help':
      return helpText(ctx.bots);
    case 'models': {
      const available = await ctx
        .listModels()
        .catch((err: unknown) => [`(could not list models: ${errorMessage(err)})`]);
      return modelsText(ctx.bots, available);
    }
    case 'model':
      return modelText(ctx, command.bot, command.model);
    case 'reset':
      // The !reset message itself is the boundary context building looks for.
      return 'Context cleared: the bots will not read messages before this point.';
    case 'status': {
      const s = ctx.status();
      return statusText({
        bots: s.bots.map((b) => ({ ...b, displayName: ctx.bots.find((x) => x.id === b.id)?.displayName ?? b.id })),
        trips: s.loopGuardTrips,
        rateLimited: s.rateLimited,
        roomTokensLastHour: ctx.roomTokensLastHour(roomId),
      });
    }
    case 'stop': {
      const n = ctx.stopRoom(roomId);
      return n > 0 ? `Stopped ${n} answer${n === 1 ? '' : 's'}.` : 'Nothing was being answered.';
    }
    case 'why':
      return (
        ctx.why(roomId) ??
        'No answer in this room since the start: ask a bot, then `!why` says where its answer came from.'
      );
    case 'cost':
      return ctx.cost() ?? 'Spend is not counted here.';
    case 'run':
      return 'Usage: !run <pipeline> <text>';
    case 'allow':
    case 'deny':
      return ctx.decide(roomId, sender, command.name === 'allow');
    case 'invalid':
      return command.reason;
  }
}

/** Answers a command once, with a notice in reply from the bot `w` (the room's first bot). */
export async function runCommand(
  ctx: CommandContext,
  w: Worker,
  roomId: string,
  view: MessageView,
  command: Command,
): Promise<void> {
  if (w.state.isAnswered(view.triggerId)) return;
  const text = await commandReply(ctx, roomId, command, view.sender);
  w.state.markAnswered(view.triggerId);
  await w.conn.send(roomId, 'm.room.message', {
    msgtype: 'm.notice',
    body: text,
    'm.relates_to': { 'm.in_reply_to': { event_id: view.triggerId } },
    'm.mentions': {},
  });
}
