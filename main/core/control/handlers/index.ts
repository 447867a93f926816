// Every handler of the control contract, grouped by what it acts on.
import type { Handlers } from '../../../common/contract.ts';
import { apiKeyHandlers } from './api-keys.ts';
import { appHandlers } from './app.ts';
import { auditHandlers } from './audit.ts';
import type { HandlerContext } from './context.ts';
import { sessionHandlers } from './session.ts';
import { modelHandlers, settingsAndBotHandlers } from './team.ts';
import { toolsHandlers } from './tools.ts';

export type { HandlerContext } from './context.ts';

export function controlHandlers(ctx: HandlerContext): Handlers {
  return {
    ...appHandlers(ctx),
    ...sessionHandlers(ctx),
    ...settingsAndBotHandlers(ctx),
    ...modelHandlers(ctx),
    ...apiKeyHandlers(ctx),
    ...auditHandlers(ctx),
    ...toolsHandlers(ctx),
  };
}
