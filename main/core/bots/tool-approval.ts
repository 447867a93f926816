// Approval in the room for a tool that changes something: the bot posts what it wants to run with which arguments,
// and waits for a ✅ (allow) or ❌ (deny) reaction on that notice, or `!allow` / `!deny`, from a person allowed to
// decide (guard.allowedUsers, or the owner when that list is empty). No answer in time, or a stopped answer, denies.
import { textContent } from './markdown.ts';
import type { RawEvent } from './types.ts';

/** The content key of an approval notice: the window shows Allow and Deny buttons on it while `state` is pending. */
export const APPROVAL_KEY = 'org.agentroom.approval';

export interface ApprovalDecision {
  allowed: boolean;
  /** Who decided (a user id), or why nobody did. */
  by: string;
  how: 'reaction' | 'command' | 'timeout' | 'stopped';
}

interface Pending {
  roomId: string;
  noticeId: string;
  since: number;
  settle: (d: ApprovalDecision) => void;
}

const ALLOW = new Set(['✅', '✔', '👍']);
const DENY = new Set(['❌', '✖', '👎']);

/** The reaction's meaning: allow, deny, or nothing (any other key). Emoji variation selectors are ignored. */
export function reactionVerdict(key: unknown): boolean | undefined {
  if (typeof key !== 'string') return undefined;
  const k = key.replace(/[\uFE0E\uFE0F]/g, '').trim();
  return ALLOW.has(k) ? true : DENY.has(k) ? false : undefined;
}

/** Who may decide: the allowed users when the settings list any, else the owner alone (never a bot). */
export function mayApprove(userId: string, ownerId: string, allowedUsers: readonly string[]): boolean {
  return allowedUsers.length > 0 ? allowedUsers.includes(userId) : userId === ownerId;
}

/** The approvals waiting in this process's rooms. One instance per runner; events reach it as they sync. */
export class Approvals {
  readonly #pending: Pending[] = [];
  /** Reactions seen lately, for a notice whose reaction synced before the wait began. */
  readonly #recent: Array<{ roomId: string; target: string; sender: string; allow: boolean }> = [];

  constructor(private readonly mayDecide: (userId: string) => boolean) {}

  /** How many wait in the room. */
  waiting(roomId: string): number {
    return this.#pending.filter((p) => p.roomId === roomId).length;
  }

  /** Waits for a decision on the notice; timeout and a stopped answer deny. */
  wait(roomId: string, noticeId: string, timeoutMs: number, signal: AbortSignal): Promise<ApprovalDecision> {
    const early = this.#recent.find((r) => r.roomId === roomId && r.target === noticeId);
    if (early) return Promise.resolve({ allowed: early.allow, by: early.sender, how: 'reaction' });
    return new Promise((resolve) => {
      const done = (d: ApprovalDecision): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = this.#pending.indexOf(entry);
        if (i >= 0) this.#pending.splice(i, 1);
        resolve(d);
      };
      const entry: Pending = { roomId, noticeId, since: Date.now(), settle: done };
      const onAbort = (): void => done({ allowed: false, by: 'the answer was stopped', how: 'stopped' });
      const timer = setTimeout(
        () => done({ allowed: false, by: `no answer in ${describeMs(timeoutMs)}`, how: 'timeout' }),
        timeoutMs,
      );
      timer.unref();
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.push(entry);
    });
  }

  /** A synced event: a ✅ or ❌ reaction on a waiting notice, from someone who may decide, settles it. */
  onEvent(roomId: string, ev: RawEvent): void {
    if (ev.type !== 'm.reaction') return;
    const rel = ev.content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown; key?: unknown } | undefined;
    if (rel?.rel_type !== 'm.annotation' || typeof rel.event_id !== 'string') return;
    const allow = reactionVerdict(rel.key);
    if (allow === undefined || !this.mayDecide(ev.sender)) return;
    const p = this.#pending.find((x) => x.roomId === roomId && x.noticeId === rel.event_id);
    if (p) return p.settle({ allowed: allow, by: ev.sender, how: 'reaction' });
    this.#recent.push({ roomId, target: rel.event_id, sender: ev.sender, allow });
    if (this.#recent.length > 100) this.#recent.shift();
  }

  /** `!allow` / `!deny`: decides the room's oldest waiting approval; the text the command answers with. */
  decide(roomId: string, sender: string, allow: boolean): string {
    if (!this.mayDecide(sender)) return 'Only the owner (or the allowed users in settings) can allow or deny tools.';
    const p = this.#pending.find((x) => x.roomId === roomId);
    if (!p) return 'No tool call is waiting for approval here.';
    p.settle({ allowed: allow, by: sender, how: 'command' });
    const left = this.waiting(roomId);
    return `${allow ? 'Allowed' : 'Denied'}.${left > 0 ? ` ${left} more waiting.` : ''}`;
  }
}

export function describeMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The approval notice's text and content (a reply to the request, in its thread). */
export function approvalContent(o: {
  botName: string;
  server: string;
  tool: string;
  args: Record<string, unknown>;
  timeoutMs: number;
  relatesTo: Record<string, unknown>;
  mention?: string | undefined;
}): Record<string, unknown> {
  let argsText = JSON.stringify(o.args, null, 2);
  if (argsText.length > 2000) argsText = `${argsText.slice(0, 2000)}\n… (${argsText.length} characters in all)`;
  const body = [
    `🔐 ${o.botName} wants to run **${o.server}/${o.tool}**, which can change things, with:`,
    '',
    '```json',
    argsText.replace(/```/g, '`\u200b``'),
    '```',
    '',
    `React ✅ to allow or ❌ to deny (or write \`!allow\` / \`!deny\`). No answer in ${describeMs(o.timeoutMs)} denies it.`,
  ].join('\n');
  return {
    msgtype: 'm.notice',
    ...textContent(body),
    'm.relates_to': o.relatesTo,
    'm.mentions': o.mention ? { user_ids: [o.mention] } : {},
    [APPROVAL_KEY]: { server: o.server, tool: o.tool, state: 'pending' },
  };
}

/** The notice's edit once decided: what was decided and by whom; the window drops its buttons. */
export function approvalOutcomeEdit(noticeId: string, original: string, d: ApprovalDecision): Record<string, unknown> {
  const line = d.allowed
    ? `✅ Allowed by ${d.by}.`
    : `❌ Not run: ${d.how === 'timeout' || d.how === 'stopped' ? d.by : `denied by ${d.by}`}.`;
  const fresh = textContent(`${original}\n\n${line}`);
  return {
    msgtype: 'm.notice',
    body: `* ${fresh.body}`,
    'm.new_content': { msgtype: 'm.notice', ...fresh, [APPROVAL_KEY]: { state: d.allowed ? 'allowed' : 'denied' } },
    'm.relates_to': { rel_type: 'm.replace', event_id: noticeId },
    'm.mentions': {},
  };
}
