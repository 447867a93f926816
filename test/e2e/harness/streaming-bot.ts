// A bot stand-in for the chat window's end-to-end test: answers a mention the way the bot runner does
// (typing, a first chunk, throttled m.replace edits, a final edit), and honours !stop.
import { client, type Account } from './matrix-setup.ts';

interface SyncResponse {
  next_batch: string;
  rooms?: { join?: Record<string, { timeline?: { events?: { type: string; sender: string; event_id: string; content: Record<string, unknown> }[] } }> };
}

export interface StreamingBotOptions {
  /** The reply, sent as growing prefixes; one edit per element after the first. */
  chunks: string[];
  intervalMs: number;
}

export class StreamingBot {
  readonly mentionsSeen: Record<string, unknown>[] = [];
  busy = false;
  replies = 0;
  #since: string | undefined;
  #abort = new AbortController();
  #stopStream = false;
  #txn = 0;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly base: string,
    private readonly account: Account,
    private readonly roomId: string,
    private readonly options: StreamingBotOptions,
    private readonly onBusy: (busy: boolean) => void = () => undefined,
  ) {}

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop?.catch(() => undefined);
  }

  async #run(): Promise<void> {
    const api = client(this.base, this.account.accessToken);
    while (!this.#abort.signal.aborted) {
      let sync: SyncResponse;
      try {
        const q = this.#since ? `?since=${encodeURIComponent(this.#since)}&timeout=5000` : '?timeout=0';
        const res = await fetch(`${this.base}/_matrix/client/v3/sync${q}`, { headers: { Authorization: `Bearer ${this.account.accessToken}` }, signal: this.#abort.signal });
        sync = (await res.json()) as SyncResponse;
      } catch {
        if (this.#abort.signal.aborted) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const initial = this.#since === undefined;
      this.#since = sync.next_batch;
      if (initial) continue; // history before start is not answered
      for (const ev of sync.rooms?.join?.[this.roomId]?.timeline?.events ?? []) {
        if (ev.type !== 'm.room.message' || ev.sender === this.account.userId) continue;
        if (ev.content.body === '!stop') {
          this.#stopStream = true;
          continue;
        }
        const mentions = ev.content['m.mentions'] as { user_ids?: string[] } | undefined;
        if (!mentions?.user_ids?.includes(this.account.userId)) continue;
        this.mentionsSeen.push(ev.content);
        void this.#reply(api, ev.event_id);
      }
    }
  }

  async #reply(api: ReturnType<typeof client>, inReplyTo: string): Promise<void> {
    const room = encodeURIComponent(this.roomId);
    const me = encodeURIComponent(this.account.userId);
    const send = (content: unknown) => api.put<{ event_id: string }>(`/rooms/${room}/send/m.room.message/e2e-${Date.now()}-${this.#txn++}`, content);
    this.#stopStream = false;
    this.busy = true;
    this.onBusy(true);
    await api.put(`/rooms/${room}/typing/${me}`, { typing: true, timeout: 30_000 });
    const { chunks, intervalMs } = this.options;
    let text = chunks[0]!;
    const { event_id } = await send({ msgtype: 'm.text', body: text, 'm.mentions': {}, 'm.relates_to': { 'm.in_reply_to': { event_id: inReplyTo } } });
    for (const chunk of chunks.slice(1)) {
      await new Promise((r) => setTimeout(r, intervalMs));
      if (this.#stopStream || this.#abort.signal.aborted) break;
      text += chunk;
      await send({ msgtype: 'm.text', body: `* ${text}`, 'm.mentions': {}, 'm.new_content': { msgtype: 'm.text', body: text, 'm.mentions': {} }, 'm.relates_to': { rel_type: 'm.replace', event_id } });
    }
    await api.put(`/rooms/${room}/typing/${me}`, { typing: false });
    this.replies++;
    this.busy = false;
    this.onBusy(false);
  }
}
