// The encryption module of the test homeserver: send-to-device messaging, the encryption parts of /sync
// (to_device, device_lists, one-time key counts, unused fallback key types), and the key and backup routes.
// index.ts wires it in by default.
import { MatrixError, asObject, badJson, optObject } from './errors.ts';
import type { Hs } from './context.ts';
import { backupRoutes } from './encryption-backup.ts';
import { keyRoutes, otkCounts, unusedFallbackTypes } from './encryption-keys.ts';
import { EncryptionState } from './encryption-state.ts';
import type { Ctx, Route } from './router.ts';
import type { SyncContributor } from './sync.ts';

/** Synapse hands out at most 100 to-device messages per /sync; the rest come in the following ones. */
const TO_DEVICE_LIMIT = 100;

export interface Encryption {
  state: EncryptionState;
  routes: Route[];
  syncContributor: SyncContributor;
}

export function createEncryption(hs: Hs, dataDir: string | undefined): Encryption {
  const st = new EncryptionState(hs, dataDir);

  const sendToDevice = (ctx: Ctx): { body: unknown } => {
    const { userId, deviceId } = ctx.caller;
    const txnKey = `${userId}\u0000${deviceId}\u0000${ctx.params.txnId as string}`;
    if (st.data.toDeviceTxns[txnKey]) return { body: {} };
    const messages = optObject(asObject(ctx.body), 'messages');
    if (!messages) throw new MatrixError(400, 'M_MISSING_PARAM', "Missing params: ['messages']");
    const stream = st.bump();
    for (const [target, byDevice] of Object.entries(messages)) {
      if (typeof byDevice !== 'object' || byDevice === null) throw badJson('messages must map user ids to device maps');
      for (const [targetDevice, content] of Object.entries(byDevice as Record<string, unknown>)) {
        const devices =
          targetDevice === '*'
            ? [...hs.store.devices.values()].filter((d) => d.userId === target).map((d) => d.deviceId)
            : [targetDevice];
        for (const d of devices) {
          (st.data.toDevice[`${target}\u0000${d}`] ??= []).push({
            stream,
            event: { type: ctx.params.type as string, sender: userId, content: asObject(content) },
          });
        }
      }
    }
    st.data.toDeviceTxns[txnKey] = true;
    st.save();
    hs.store.notify();
    return { body: {} };
  };

  /**
   * Spec: to-device messages stay queued until the client shows it received them by syncing with a later
   * since token. A message handed out in a response whose next_batch was T is deleted at the first /sync
   * with since >= T; a retried /sync with an older token gets it again.
   */
  const syncContributor: SyncContributor = (caller, since) => {
    const key = `${caller.userId}\u0000${caller.deviceId}`;
    const nextBatch = hs.store.stream;
    let queue = st.data.toDevice[key] ?? [];
    const before = queue.length;
    if (since !== undefined) queue = queue.filter((m) => m.deliveredAt === undefined || m.deliveredAt > since);
    const out = queue.slice(0, TO_DEVICE_LIMIT);
    for (const m of out) m.deliveredAt = nextBatch;
    st.data.toDevice[key] = queue;
    if (out.length > 0 || queue.length !== before) st.save();
    const lists =
      since === undefined ? { changed: [], left: [] } : st.deviceListChanges(caller.userId, since, nextBatch);
    return {
      data: {
        to_device: { events: out.map((m) => m.event) },
        device_lists: lists,
        device_one_time_keys_count: otkCounts(st, caller.userId, caller.deviceId),
        device_unused_fallback_key_types: unusedFallbackTypes(st, caller.userId, caller.deviceId),
      },
      hasData: out.length > 0 || lists.changed.length > 0 || lists.left.length > 0,
    };
  };

  return {
    state: st,
    syncContributor,
    routes: [
      { method: 'PUT', pattern: 'client:/sendToDevice/:type/:txnId', auth: 'required', handler: sendToDevice },
      ...keyRoutes(hs, st),
      ...backupRoutes(st),
    ],
  };
}
