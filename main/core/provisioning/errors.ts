// Typed provisioning errors: what failed and, in `hint`, what the person can do.

export class ProvisionError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProvisionError';
    this.hint = hint;
  }
}

export class ProvisionUnreachableError extends ProvisionError {
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super(
      `The homeserver at ${url} cannot be reached: ${reason}.`,
      'Check that the homeserver runs (`agent-room status`) and that the URL in settings (or --homeserver-url) is right.',
      options,
    );
    this.name = 'ProvisionUnreachableError';
  }
}

export class RegistrationRejectedError extends ProvisionError {
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super(
      `The homeserver at ${url} refused to register a new account: ${reason}.`,
      'Give a valid registration token: for an external homeserver, create one there (Synapse: the admin API; Conduit: registration_token in its config) ' +
        'and pass --registration-token or store it under the secret named in settings.homeserver.registrationTokenRef.',
      options,
    );
    this.name = 'RegistrationRejectedError';
  }
}

export class AccountPasswordUnknownError extends ProvisionError {
  constructor(userId: string) {
    super(
      `The account ${userId} already exists on the homeserver, but this app holds no working password for it.`,
      'If it is your account, run `agent-room set-password owner` (or `set-password <bot id>`) and type its password; otherwise choose another name in settings (owner.localpart or the bot id).',
    );
    this.name = 'AccountPasswordUnknownError';
  }
}

export class DataDirUnwritableError extends ProvisionError {
  constructor(dir: string, reason: string, options?: { cause?: unknown }) {
    super(
      `The data folder ${dir} cannot be written: ${reason}.`,
      'Fix its permissions or free disk space, or choose another data folder (--data-dir / AGENT_ROOM_DATA_DIR).',
      options,
    );
    this.name = 'DataDirUnwritableError';
  }
}

export class ProvisionHomeserverError extends ProvisionError {
  constructor(step: string, reason: string, options?: { cause?: unknown }) {
    super(
      `Setting up the team on the homeserver failed while ${step}: ${reason}.`,
      'Run it again: every step is safe to repeat. If it keeps failing, see the homeserver log.',
      options,
    );
    this.name = 'ProvisionHomeserverError';
  }
}
