// The owner's recovery key, shown once on the run that made it: the one thing a person must keep to read the
// encrypted history on a new device (Element, a phone) or after losing this machine. Dismissed for good per account.
import { useState } from 'react';

export interface RecoveryKeyCardProps {
  recoveryKey: string;
  onDismiss: () => void;
  /** Tests pass a fake clipboard; the window uses navigator.clipboard. */
  writeClipboard?: (text: string) => Promise<void>;
}

const DISMISSED_PREFIX = 'agent-room.recovery-key-saved:';

/** Whether the person said they saved the recovery key of this account (kept in the window's storage). */
export function recoveryKeyDismissed(storage: Pick<Storage, 'getItem'>, userId: string): boolean {
  return storage.getItem(DISMISSED_PREFIX + userId) === '1';
}

export function dismissRecoveryKey(storage: Pick<Storage, 'setItem'>, userId: string): void {
  storage.setItem(DISMISSED_PREFIX + userId, '1');
}

export function RecoveryKeyCard({ recoveryKey, onDismiss, writeClipboard }: RecoveryKeyCardProps) {
  const [copied, setCopied] = useState<'yes' | 'failed'>();
  const copy = () => {
    const write = writeClipboard ?? ((text: string) => navigator.clipboard.writeText(text));
    write(recoveryKey).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
  };
  return (
    <section className="recovery-card" role="region" aria-label="Recovery key">
      <h2>Save your recovery key</h2>
      <p>
        The team room is end-to-end encrypted. Keep this key somewhere safe (a password manager): with it, a new device
        of yours can read the whole history. It is shown only this once.
      </p>
      <code className="recovery-key" data-testid="recovery-key">
        {recoveryKey}
      </code>
      <div className="recovery-actions">
        <button type="button" className="button" onClick={copy}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button button-primary" onClick={onDismiss}>
          I saved it
        </button>
        {copied === 'failed' && <span className="msg-error">Could not copy: select the key and copy it by hand.</span>}
      </div>
    </section>
  );
}
