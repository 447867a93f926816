// An external homeserver (settings.homeserver.mode "external", or `serve --homeserver-url`): no child
// process; start checks that /_matrix/client/versions answers and reads the registration token.
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { SecretStore } from '../settings/secret-store.ts';
import { HomeserverUnreachableError } from './errors.ts';
import { fetchVersions } from './probe.ts';

export interface ExternalHomeserverOptions {
  url: string;
  secrets: SecretStore;
  /** Name of the secret holding the registration token (settings.homeserver.registrationTokenRef). */
  registrationTokenRef?: string;
  /** A token given on the command line; it wins over the secret store and is not saved. */
  registrationToken?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  logger?: Logger;
}

export class ExternalHomeserver extends BaseService {
  readonly name = 'homeserver';
  readonly #o: ExternalHomeserverOptions;
  #token: string | undefined;
  #versions: string[] = [];

  constructor(options: ExternalHomeserverOptions) {
    super();
    this.#o = options;
  }

  get url(): string {
    return this.#o.url.replace(/\/+$/, '');
  }
  /** Unknown until an account exists (a user id names its server); the provisioner reports it. */
  get serverName(): string | undefined {
    return undefined;
  }
  get registrationToken(): string | undefined {
    return this.#token;
  }
  get versions(): string[] {
    return this.#versions;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
    try {
      let parsed: URL;
      try {
        parsed = new URL(this.#o.url);
      } catch {
        throw new HomeserverUnreachableError(this.#o.url, 'this is not a valid URL');
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        throw new HomeserverUnreachableError(this.#o.url, 'only http and https URLs are supported');
      try {
        this.#versions = await fetchVersions(this.url, {
          fetch: this.#o.fetch,
          timeoutMs: this.#o.timeoutMs ?? 10_000,
          signal,
        });
      } catch (err) {
        signal.throwIfAborted();
        throw new HomeserverUnreachableError(this.url, describeFetchError(err));
      }
      this.#token =
        this.#o.registrationToken ??
        (await this.#o.secrets.get(this.#o.registrationTokenRef ?? 'homeserver.registrationToken'));
      this.setState({ status: 'running', detail: this.url });
    } catch (err) {
      this.setState({
        status: 'failed',
        error: errorMessage(err),
        hint: err instanceof HomeserverUnreachableError ? err.hint : undefined,
      });
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.setState({ status: 'stopped' });
  }
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND …): bring it out. */
export function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  if ((err as Error)?.name === 'TimeoutError') return 'no answer before the timeout';
  return errorMessage(err);
}
