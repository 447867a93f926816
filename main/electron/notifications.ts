// A notification when a bot replies while the window is hidden (if the setting is on), and the unread
// count on the dock or taskbar badge where the platform has one. Cleared when the window is seen.
import { Notification, app } from 'electron';
import type { BotReply } from '../common/contract.ts';

export interface ReplyNotifierOptions {
  /** True when the person can see the chat (window shown and focused). */
  isWindowSeen: () => boolean;
  notificationsEnabled: () => boolean;
  /** Clicking a notification opens the chat. */
  onClick: () => void;
}

export class ReplyNotifier {
  #unread = 0;

  constructor(private readonly options: ReplyNotifierOptions) {}

  get unread(): number {
    return this.#unread;
  }

  onReply(reply: BotReply): void {
    if (this.options.isWindowSeen()) return;
    this.#unread++;
    // setBadgeCount is a no-op that returns false where there is no badge (most Linux desktops).
    app.setBadgeCount(this.#unread);
    if (!this.options.notificationsEnabled() || !Notification.isSupported()) return;
    const notification = new Notification({
      title: reply.displayName,
      body: reply.preview.slice(0, 200),
      silent: false,
    });
    notification.on('click', () => this.options.onClick());
    notification.show();
  }

  /** The window was shown or focused: everything is read. */
  seen(): void {
    if (this.#unread === 0) return;
    this.#unread = 0;
    app.setBadgeCount(0);
  }
}
