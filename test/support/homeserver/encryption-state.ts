// The test homeserver's end-to-end encryption state: device keys, one-time and fallback keys, cross-signing keys,
// queued to-device messages, device-list change positions and room-key backups. Snapshotted to
// <dataDir>/encryption.json after every change so a restart keeps what a real server keeps.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hs } from './context.ts';

export type Json = Record<string, unknown>;

export interface ToDeviceMessage {
  stream: number;
  event: { type: string; sender: string; content: Json };
  deliveredAt?: number;
}

export interface BackupVersion {
  version: string;
  algorithm: string;
  authData: Json;
  etag: number;
  deleted: boolean;
  /** roomId → sessionId → KeyBackupData */
  rooms: Record<string, Record<string, Json>>;
}

export interface EncryptionData {
  /** user → device → signed device keys as uploaded */
  deviceKeys: Record<string, Record<string, Json>>;
  /** user\0device → key id ("signed_curve25519:AAAAAQ") → key */
  oneTimeKeys: Record<string, Record<string, unknown>>;
  /** user\0device → algorithm → { keyId, key, used } */
  fallbackKeys: Record<string, Record<string, { keyId: string; key: unknown; used: boolean }>>;
  /** user → { master, self_signing, user_signing } */
  crossSigning: Record<string, { master?: Json; self_signing?: Json; user_signing?: Json }>;
  /** user\0device → queued messages, oldest first */
  toDevice: Record<string, ToDeviceMessage[]>;
  /** sender user\0device\0txnId seen, so a retried PUT /sendToDevice is not delivered twice */
  toDeviceTxns: Record<string, true>;
  /** user → stream position of the latest change of their device or cross-signing keys */
  keyChanges: Record<string, number>;
  /** user → backups; version strings are increasing integers */
  backups: Record<string, BackupVersion[]>;
  /** target user → signing user → that user's user-signing signature of the target's master key (shown to the signer only) */
  otherSignatures: Record<string, Record<string, Record<string, string>>>;
}

const empty = (): EncryptionData => ({
  deviceKeys: {},
  oneTimeKeys: {},
  fallbackKeys: {},
  crossSigning: {},
  toDevice: {},
  toDeviceTxns: {},
  keyChanges: {},
  backups: {},
  otherSignatures: {},
});

export class EncryptionState {
  readonly data: EncryptionData;
  private readonly file: string | undefined;
  private readonly hs: Hs;

  constructor(hs: Hs, dataDir: string | undefined) {
    this.hs = hs;
    this.file = dataDir === undefined ? undefined : join(dataDir, 'encryption.json');
    this.data =
      this.file !== undefined && existsSync(this.file)
        ? { ...empty(), ...(JSON.parse(readFileSync(this.file, 'utf8')) as EncryptionData) }
        : empty();
  }

  /** Writes the snapshot (temp file + rename: a crash leaves the old or the new one). */
  save(): void {
    if (this.file === undefined) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.data));
    renameSync(`${this.file}.tmp`, this.file);
  }

  /** A new stream position (journaled, so since-tokens stay ordered across restarts); wakes long-polling /sync. */
  bump(): number {
    const stream = this.hs.store.nextStream();
    this.hs.store.commit({ k: 'bump', stream });
    return stream;
  }

  /** Records that a user's keys changed, so /sync device_lists and /keys/changes report it. */
  keysChanged(userId: string): void {
    this.data.keyChanges[userId] = this.bump();
  }

  deviceExists(userId: string, deviceId: string): boolean {
    return this.hs.store.devices.has(`${userId}\u0000${deviceId}`);
  }

  /** Users who share a joined room with `userId` (themselves included). */
  sharesRoomWith(userId: string): Set<string> {
    const out = new Set<string>([userId]);
    for (const room of this.hs.store.rooms.values()) {
      if (this.hs.store.membership(room.roomId, userId)?.membership !== 'join') continue;
      for (const s of room.state.values()) {
        if (s.event.type === 'm.room.member' && s.event.content.membership === 'join')
          out.add(s.event.state_key as string);
      }
    }
    return out;
  }

  /** device_lists between two stream positions, as /sync and /keys/changes define them. */
  deviceListChanges(userId: string, from: number, to: number): { changed: string[]; left: string[] } {
    const shared = this.sharesRoomWith(userId);
    const changed = new Set<string>();
    const maybeLeft = new Set<string>();
    for (const [u, at] of Object.entries(this.data.keyChanges))
      if (at > from && at <= to && shared.has(u)) changed.add(u);
    for (const room of this.hs.store.rooms.values()) {
      const mine = this.hs.store.membership(room.roomId, userId);
      const iJoinedSince = mine?.membership === 'join' && mine.stored.stream > from && mine.stored.stream <= to;
      for (const s of room.timeline) {
        if (s.event.type !== 'm.room.member' || s.stream <= from || s.stream > to) continue;
        const who = s.event.state_key as string;
        if (who === userId) {
          // Leaving a room: its members may no longer share any room with us.
          if (s.event.content.membership !== 'join')
            for (const m of room.state.values())
              if (m.event.type === 'm.room.member') maybeLeft.add(m.event.state_key as string);
          continue;
        }
        if (s.event.content.membership === 'join' && shared.has(who)) changed.add(who);
        else if (s.event.content.membership === 'leave' || s.event.content.membership === 'ban') maybeLeft.add(who);
      }
      // Joining a room means starting to track everyone in it.
      if (iJoinedSince)
        for (const m of room.state.values())
          if (m.event.type === 'm.room.member' && m.event.content.membership === 'join')
            changed.add(m.event.state_key as string);
    }
    const left = [...maybeLeft].filter((u) => !shared.has(u) && u !== userId);
    return { changed: [...changed], left };
  }
}
