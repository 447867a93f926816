// The audit trail for the window's Audit panel: the calls the inference service recorded, read through the store it
// writes while it runs, or from the database file read-only when it does not (stopped, or audit off since).
import { existsSync } from 'node:fs';
import { ControlError, type AuditCall, type Handlers } from '../../../common/contract.ts';
import { AuditStore, auditFile } from '../../audit/audit-store.ts';
import type { AuditEntry } from '../../audit/audit-types.ts';

type AuditHandlers = Pick<Handlers, 'audit.list'>;

/** What the handler reads: the state folder and the store the inference service holds open, if any. */
export interface AuditContext {
  paths: { state: string };
  inference: { readonly auditStore: Pick<AuditStore, 'list'> | undefined };
}

/** The fields the window shows; the question and the answer (kept only with audit.storeText) stay in the file. */
function toCall(e: AuditEntry & { id: number }): AuditCall {
  const { prompt: _prompt, reply: _reply, ...call } = e;
  return call;
}

export function auditHandlers({ paths, inference }: AuditContext): AuditHandlers {
  return {
    'audit.list': async (req) => {
      const options = {
        ...(req?.since !== undefined ? { since: req.since } : {}),
        limit: req?.limit ?? 500,
        ...(req?.bot !== undefined ? { botId: req.bot } : {}),
      };
      const open = inference.auditStore;
      if (open) return open.list(options).map(toCall);
      const file = auditFile(paths.state);
      if (!existsSync(file)) return [];
      const store = AuditStore.open({ file, readOnly: true });
      if (!store)
        throw new ControlError(
          'Unavailable',
          `The audit trail needs node:sqlite, which this Node (${process.version}) lacks.`,
          {
            hint: 'Run agent-room serve with Node 22.13 or newer.',
          },
        );
      try {
        return store.list(options).map(toCall);
      } finally {
        store.close();
      }
    },
  };
}
