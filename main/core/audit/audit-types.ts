// One model call as the audit trail keeps it: who asked, which model answered (or failed), why that model,
// whether it left this machine, the kinds of sensitive data (never the values), tokens and time.

import type { AuditCall } from '../../common/contract-types.ts';

export type AuditOutcome = AuditCall['outcome'];

/** A call as the store keeps it: what the window lists (contract-types.ts), and the text when audit.storeText is on. */
export type AuditEntry = Omit<AuditCall, 'id'> & {
  /** The question and the answer: kept only when the settings' audit.storeText is on. */
  prompt?: string | null;
  reply?: string | null;
};

/** Where the router records its calls: the audit store, or nothing. */
export interface AuditSink {
  record(entry: AuditEntry): void;
}
