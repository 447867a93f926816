// Performs the room commands (!help, !models, !model, !reset, !status, !stop) for the runner;
// answers are notices, so they never address a bot or enter a model's context.
import { errorMessage } from '../lifecycle/service.ts';
import type { BotRunner, Worker } from './bot-runner.ts';
import { findBot, helpText, modelsText, statusText, type BotSummary, type Command } from './commands.ts';
import type { MessageView } from './mentions.ts';

export async function handleCommand(runner: BotRunner, w: Worker, roomId: string, view: MessageView, command: Command): Promise<void> {
  if (w.state.isAnswered(view.triggerId)) return;
  const summaries: Array<BotSummary & { userId: string }> = runner.options.provision.bots.map((b) => ({
    id: b.id,
    userId: b.userId,
    displayName: b.displayName,
    model: runner.botConfig(b.id)?.model ?? '(not configured)',
  }));
  let text: string;
  switch (command.name) {
    case 'help':
      text = helpText(summaries);
      break;
    case 'models': {
      let available: string[];
      try {
        available = (await runner.options.inference.listModels?.())?.map((m) => m.ref) ?? [];
      } catch (err) {
        available = [`(could not list models: ${errorMessage(err)})`];
      }
      text = modelsText(summaries, available);
      break;
    }
    case 'model': {
      const bot = findBot(summaries, command.bot);
      if (!bot) {
        text = `No bot called "${command.bot}". Bots: ${summaries.map((b) => b.id).join(', ')}.`;
        break;
      }
      runner.modelOverrides.set(bot.id, command.model);
      try {
        await runner.options.onModelChange?.(bot.id, command.model);
        text = `${bot.displayName} now runs ${command.model}.`;
      } catch (err) {
        text = `${bot.displayName} runs ${command.model} until the next restart; saving the setting failed: ${errorMessage(err)}`;
      }
      break;
    }
    case 'reset':
      // The !reset message itself is the boundary context building looks for.
      text = 'Context cleared: the bots will not read messages before this point.';
      break;
    case 'status': {
      const s = runner.status();
      text = statusText({
        bots: s.bots.map((b) => ({ ...b, displayName: summaries.find((x) => x.id === b.id)?.displayName ?? b.id })),
        trips: s.loopGuardTrips,
        rateLimited: s.rateLimited,
        roomTokensLastHour: runner.guard.usedTokens(roomId, Date.now()),
      });
      break;
    }
    case 'stop': {
      const n = runner.stopRoom(roomId);
      text = n > 0 ? `Stopped ${n} answer${n === 1 ? '' : 's'}.` : 'Nothing was being answered.';
      break;
    }
    case 'invalid':
      text = command.reason;
      break;
  }
  w.state.markAnswered(view.triggerId);
  await w.conn.send(roomId, 'm.room.message', { msgtype: 'm.notice', body: text, 'm.relates_to': { 'm.in_reply_to': { event_id: view.triggerId } }, 'm.mentions': {} });
}
