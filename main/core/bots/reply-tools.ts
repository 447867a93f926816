// A reply with tools, from the reply job's side: the room approval (a notice, then the wait on Approvals, then an
// edit of the notice saying how it was decided) and the prompt room left for tool results.
import { errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { BotTool } from '../mcp/mcp-service.ts';
import type { BotConnection } from './bot-client.ts';
import { approvalContent, approvalOutcomeEdit, type ApprovalDecision, type Approvals } from './tool-approval.ts';

export interface ApprovalPlace {
  conn: BotConnection;
  approvals: Approvals;
  roomId: string;
  /** The request being answered, and its thread. */
  eventId: string;
  threadRoot?: string | undefined;
  botName: string;
  /** The person who asked, mentioned so their client tells them (never a bot). */
  asker?: string | undefined;
  timeoutMs: number;
  signal: AbortSignal;
  logger?: Logger | undefined;
}

/** Posts the approval notice and waits for ✅ / ❌ / !allow / !deny; a notice that cannot be sent denies. */
export async function askInRoom(
  p: ApprovalPlace,
  tool: BotTool,
  args: Record<string, unknown>,
): Promise<ApprovalDecision> {
  const content = approvalContent({
    botName: p.botName,
    server: tool.server,
    tool: tool.name,
    args,
    timeoutMs: p.timeoutMs,
    relatesTo: {
      ...(p.threadRoot ? { rel_type: 'm.thread', event_id: p.threadRoot, is_falling_back: true } : {}),
      'm.in_reply_to': { event_id: p.eventId },
    },
    mention: p.asker,
  });
  let noticeId: string;
  try {
    noticeId = await p.conn.send(p.roomId, 'm.room.message', content);
  } catch (err) {
    p.logger?.warn({ err: errorMessage(err) }, 'approval notice not sent');
    return { allowed: false, by: `the approval request could not be posted (${errorMessage(err)})`, how: 'timeout' };
  }
  const decision = await p.approvals.wait(p.roomId, noticeId, p.timeoutMs, p.signal);
  await p.conn
    .send(p.roomId, 'm.room.message', approvalOutcomeEdit(noticeId, String(content.body), decision))
    .catch((err: unknown) => p.logger?.warn({ err: errorMessage(err) }, 'approval outcome not shown'));
  p.logger?.info({ tool: `${tool.server}/${tool.name}`, ...decision }, 'tool approval decided');
  return decision;
}

/** Characters of tool results a prompt of `promptTokens` still holds once `usedTokens` are taken (~3 a token). */
export function toolRoomChars(promptTokens: number, usedTokens: number): number {
  return Math.max(500, (promptTokens - usedTokens) * 3);
}
