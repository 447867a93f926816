// The chat view's state apart from the markup: the reply and thread the person opened and the read marker as it
// was on opening (reset with the room), read receipts, who each sender is, whom "@" can mention, and which bots
// are replying here now.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MatrixClient, Room } from 'matrix-js-sdk';
import type { BotInfo } from '../../../main/common/contract.ts';
import type { MentionCandidate } from '../lib/autocomplete.ts';
import { localpart, shortModelName } from '../lib/format.ts';
import { latestBySender, ReplyTracker } from '../lib/replying.ts';
import type { DisplayMessage, ProjectedTimeline } from '../lib/timeline.ts';
import { useVerifiedUsers } from '../matrix/use-encryption.ts';
import type { SenderInfo } from './message.tsx';

export interface RoomViewState {
  replyTo: DisplayMessage | undefined;
  setReplyTo: (msg: DisplayMessage | undefined) => void;
  threadRoot: string | undefined;
  setThreadRoot: (rootId: string | undefined) => void;
  /** The person's read marker when the room opened: where the "new messages" divider goes. */
  readMarkerAtOpen: string | undefined;
}

/** The reply, the open thread and the read marker at opening, all reset when the room changes; loads its members. */
export function useRoomViewState(room: Room | null, me: string): RoomViewState {
  const [replyTo, setReplyTo] = useState<DisplayMessage>();
  const [threadRoot, setThreadRoot] = useState<string>();
  const [readMarkerAtOpen, setReadMarkerAtOpen] = useState<string | undefined>();
  const [, setMembersLoaded] = useState(0);

  useEffect(() => {
    setReplyTo(undefined);
    setThreadRoot(undefined);
    setReadMarkerAtOpen(room?.getEventReadUpTo(me) ?? undefined);
    room?.loadMembersIfNeeded().then(
      () => setMembersLoaded((n) => n + 1),
      () => undefined,
    );
  }, [room, me]);

  return { replyTo, setReplyTo, threadRoot, setThreadRoot, readMarkerAtOpen };
}

/** Read receipt for the newest event while this room is open and the window is visible. */
export function useReadReceipt(client: MatrixClient, room: Room | null, me: string): void {
  const lastEvent = room?.getLiveTimeline().getEvents().at(-1);
  useEffect(() => {
    if (!lastEvent || lastEvent.status !== null || document.visibilityState === 'hidden') return;
    if (room?.getEventReadUpTo(me) === lastEvent.getId()) return;
    client.sendReadReceipt(lastEvent).catch(() => undefined);
  }, [client, room, me, lastEvent]);
}

export interface Senders {
  botByUser: Map<string, BotInfo>;
  senderInfo: (userId: string) => SenderInfo;
}

/** Who a sender is: name, avatar, the bot's model, and whether this window verified the bot. */
export function useSenders(client: MatrixClient, room: Room | null, bots: BotInfo[]): Senders {
  const botByUser = useMemo(() => new Map(bots.filter((b) => b.userId).map((b) => [b.userId!, b])), [bots]);
  const verifiedBots = useVerifiedUsers(client, [...botByUser.keys()]);
  const senderInfo = (userId: string): SenderInfo => {
    const bot = botByUser.get(userId);
    const member = room?.getMember(userId);
    return {
      name: member?.name ?? bot?.config.displayName ?? localpart(userId),
      avatarMxc: member?.getMxcAvatarUrl() ?? null,
      model: bot ? shortModelName(bot.status.model || bot.config.model) : undefined,
      verified: verifiedBots.has(userId),
    };
  };
  return { botByUser, senderInfo };
}

/** Whom "@" offers: the bots, then the room's other members; re-read as events arrive (`eventCount`). */
export function useMentionCandidates(
  bots: BotInfo[],
  room: Room | null,
  me: string,
  botByUser: Map<string, BotInfo>,
  eventCount: number,
): MentionCandidate[] {
  return useMemo(() => {
    const list: MentionCandidate[] = bots
      .filter((b) => b.userId)
      .map((b) => ({
        userId: b.userId!,
        displayName: b.config.displayName,
        detail: shortModelName(b.config.model),
        isBot: true,
      }));
    for (const m of room?.getJoinedMembers() ?? []) {
      if (m.userId !== me && !botByUser.has(m.userId))
        list.push({ userId: m.userId, displayName: m.name, isBot: false });
    }
    return list;
  }, [bots, room, me, botByUser, eventCount]);
}

/**
 * The bots replying in this room only (a bot busy elsewhere, or whose typing outlasts its final edit, shows no
 * Stop here), and the names for the typing line.
 */
export function useReplying(
  typing: string[],
  timeline: ProjectedTimeline,
  { botByUser, senderInfo }: Senders,
): { streamingSenders: Set<string>; typingNames: { name: string; isBot: boolean }[] } {
  const replies = useRef(new ReplyTracker());
  const streamingSenders = replies.current.observe(
    typing.filter((id) => botByUser.has(id)),
    latestBySender(timeline.byId.values()),
  );
  const typingNames = typing
    .filter((id) => !botByUser.has(id) || streamingSenders.has(id))
    .map((id) => ({ name: senderInfo(id).name, isBot: botByUser.has(id) }));
  return { streamingSenders, typingNames };
}
