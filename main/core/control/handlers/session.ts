// The owner's Matrix session for the chat window, and the owner's recovery key.
import { ControlError, type Handlers } from '../../../common/contract.ts';
import { saveRecoveryKey } from '../../crypto/owner-recovery.ts';
import { OWNER_RECOVERY_SECRET } from '../../provisioning/encryption.ts';
import { requireRunning, type HandlerContext } from './context.ts';

type SessionHandlers = Pick<
  Handlers,
  'session.get' | 'session.recoveryKey' | 'session.encryption' | 'session.setRecoveryKey'
>;

export function sessionHandlers({ matrix, secrets, logger }: HandlerContext): SessionHandlers {
  return {
    'session.get': async () => requireRunning(await matrix.ownerSession(), 'The Matrix session'),
    'session.recoveryKey': async () => {
      const prov = requireRunning(matrix.provisioning.result, 'The Matrix session');
      const recoveryKey = await secrets.get(OWNER_RECOVERY_SECRET);
      if (recoveryKey === undefined) {
        throw new ControlError('NotFound', 'The owner has no recovery key: the team room is not encrypted.', {
          hint: 'Turn on room encryption in the settings; the app then makes one.',
        });
      }
      return { recoveryKey, created: prov.ownerRecoveryKeyCreated };
    },
    'session.encryption': async () => {
      const prov = requireRunning(matrix.provisioning.result, 'The Matrix session');
      return { encrypted: prov.encrypted, recoveryKeyKnown: (await secrets.get(OWNER_RECOVERY_SECRET)) !== undefined };
    },
    'session.setRecoveryKey': async ({ recoveryKey }) => {
      let saved: { replaced: boolean };
      try {
        saved = await saveRecoveryKey(secrets, OWNER_RECOVERY_SECRET, recoveryKey);
      } catch (err) {
        // The message says what is wrong and what a recovery key looks like.
        throw new ControlError('BadRequest', (err as Error).message);
      }
      logger.info({ replaced: saved.replaced }, "the owner's recovery key was given in the window");
      // With the keys readable now, the owner vouches for the bots without waiting for a restart.
      matrix.revouch();
      return { saved: true as const, replaced: saved.replaced };
    },
  };
}
