// Typed errors of the crypto module: what failed, and what a person can do about it.
export class CryptoSetupError extends Error {
  /** What to do, in words a person can act on. */
  readonly action: string;
  constructor(message: string, action: string, options?: { cause?: unknown }) {
    super(`${message} ${action}`, options);
    this.name = 'CryptoSetupError';
    this.action = action;
  }
}
