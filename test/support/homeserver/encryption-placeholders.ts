// PLACEHOLDERS until the encryption issue (#9): valid, empty answers for the key endpoints matrix-js-sdk may
// call at start. They store nothing. Replace this file with real keys upload/query/claim, to-device and
// room-key backup (register routes via startHomeserver's `extraRoutes`, sync parts via `syncContributors`).
import { notFound } from './errors.ts';
import type { Route } from './router.ts';

export function encryptionPlaceholderRoutes(): Route[] {
  return [
    { method: 'POST', pattern: 'client:/keys/upload', auth: 'required', handler: () => ({ body: { one_time_key_counts: {} } }) },
    { method: 'POST', pattern: 'client:/keys/query', auth: 'required', handler: () => ({ body: { device_keys: {}, failures: {} } }) },
    { method: 'POST', pattern: 'client:/keys/claim', auth: 'required', handler: () => ({ body: { one_time_keys: {}, failures: {} } }) },
    { method: 'PUT', pattern: 'client:/sendToDevice/:type/:txnId', auth: 'required', handler: () => ({ body: {} }) },
    // The real answer when no backup exists.
    { method: 'GET', pattern: 'client:/room_keys/version', auth: 'required', handler: () => { throw notFound('No current backup version'); } },
  ];
}
