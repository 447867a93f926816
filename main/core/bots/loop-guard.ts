// Stops bots talking in circles: hop counting per person's message, a per-room hourly token budget,
// and a bot never answering itself. Every refusal ("trip") is counted for !status and the control API.
import type { TurnInfo } from './types.ts';

export type TripReason = 'self' | 'hops' | 'budget';

export interface GuardLimits {
  /** How many replies bots may trigger in each other per person's message. */
  maxHops: number;
  /** Tokens (prompt + completion) a room may use per hour; 0 = no limit. */
  roomTokensPerHour: number;
}

export interface GuardRequest {
  roomId: string;
  botUserId: string;
  sender: string;
  senderIsBot: boolean;
  triggerId: string;
  /** The turn marker of the triggering message, when a bot sent it. */
  turn?: TurnInfo;
}

export type GuardDecision = { ok: true; turn: TurnInfo } | { ok: false; reason: TripReason };

const HOUR_MS = 3_600_000;

export class LoopGuard {
  readonly #usage = new Map<string, Array<{ at: number; tokens: number }>>();
  readonly trips: Record<TripReason, number> = { self: 0, hops: 0, budget: 0 };

  private limits: GuardLimits;

  constructor(limits: GuardLimits) {
    this.limits = limits;
  }

  setLimits(limits: GuardLimits): void {
    this.limits = limits;
  }

  /** Decides whether the bot may answer; the returned turn goes into the reply so the next bot can count. */
  check(req: GuardRequest, now: number): GuardDecision {
    if (req.sender === req.botUserId) return this.#trip('self');
    // A bot's message without a turn marker (an older version, another app) counts as the last allowed hop.
    const prev: TurnInfo = req.senderIsBot
      ? (req.turn ?? { origin: req.triggerId, hop: this.limits.maxHops })
      : { origin: req.triggerId, hop: 0 };
    if (req.senderIsBot && prev.hop > this.limits.maxHops) return this.#trip('hops');
    if (this.limits.roomTokensPerHour > 0 && this.usedTokens(req.roomId, now) >= this.limits.roomTokensPerHour)
      return this.#trip('budget');
    const turn: TurnInfo = { origin: prev.origin, hop: prev.hop + 1 };
    if (prev.thread) turn.thread = prev.thread;
    return { ok: true, turn };
  }

  record(roomId: string, tokens: number, now: number): void {
    const list = this.#usage.get(roomId) ?? [];
    list.push({ at: now, tokens });
    this.#usage.set(roomId, list);
  }

  usedTokens(roomId: string, now: number): number {
    const list = (this.#usage.get(roomId) ?? []).filter((u) => now - u.at < HOUR_MS);
    this.#usage.set(roomId, list);
    return list.reduce((sum, u) => sum + u.tokens, 0);
  }

  get totalTrips(): number {
    return this.trips.self + this.trips.hops + this.trips.budget;
  }

  #trip(reason: TripReason): GuardDecision {
    this.trips[reason]++;
    return { ok: false, reason };
  }
}
