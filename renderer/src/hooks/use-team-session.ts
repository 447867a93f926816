// The chat window's way into the team: whether first-run setup still shows, the owner's Matrix session (retried
// until the core has made it), and the owner's Matrix client with the recovery key shown once on the run that made it.
import { useEffect, useRef, useState, type Dispatch, type SetStateAction } from 'react';
import type { AgentRoomApi } from '../../../main/common/contract-api.ts';
import type { AppStatus, OwnerRecoveryKey, OwnerSession } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { dismissRecoveryKey, recoveryKeyDismissed } from '../components/recovery-key-card.tsx';
import type { View } from '../components/sidebar.tsx';
import { startMatrixClient, type StartedClient } from '../matrix/client.ts';
import { errorText } from './control.ts';

/**
 * First run lasts while there is no bot, or while the core says the team waits for a model download.
 * Once the room opened, a bot later set to a model that still downloads does not bring setup back.
 */
export function useFirstRunGate(settings: Settings | undefined, status: AppStatus | undefined): boolean {
  const [teamReady, setTeamReady] = useState(false);
  const statusKnown = status !== undefined;
  const firstRun =
    settings !== undefined &&
    statusKnown &&
    (settings.bots.length === 0 || (status.firstRun !== undefined && !teamReady));
  useEffect(() => {
    if (settings && statusKnown && !firstRun) setTeamReady(true);
  }, [settings, statusKnown, firstRun]);
  return firstRun;
}

/** The Matrix session exists once the homeserver and provisioner ran; retry until then (each failure goes to `setError`). */
export function useOwnerSession(
  api: AgentRoomApi,
  statusKnown: boolean,
  firstRun: boolean,
  setError: Dispatch<SetStateAction<string | undefined>>,
): OwnerSession | undefined {
  const [session, setSession] = useState<OwnerSession>();
  useEffect(() => {
    if (!statusKnown || firstRun || session) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = () => {
      api.session.get().then(
        (s) => live && setSession(s),
        (err: unknown) => {
          if (!live) return;
          setError(errorText(err));
          timer = setTimeout(attempt, 2000);
        },
      );
    };
    attempt();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, statusKnown, firstRun, session]);
  return session;
}

export interface OwnerClient {
  started: StartedClient | undefined;
  /** The recovery key to show: made on this run and not yet dismissed. */
  newRecoveryKey: OwnerRecoveryKey | undefined;
  dismissRecoveryKey: () => void;
}

/**
 * Starts the owner's Matrix client for the session (failures go to `setError`, a start clears it), opens the team
 * room in `setView` unless a view is open, and fetches the recovery key.
 */
export function useOwnerClient(
  api: AgentRoomApi,
  session: OwnerSession | undefined,
  setError: Dispatch<SetStateAction<string | undefined>>,
  setView: Dispatch<SetStateAction<View | undefined>>,
): OwnerClient {
  const [started, setStarted] = useState<StartedClient>();
  const [recovery, setRecovery] = useState<OwnerRecoveryKey>();
  const [recoverySaved, setRecoverySaved] = useState(false);
  // One client at a time on the crypto store: a restart of the effect waits for the previous client to stop.
  const clientChain = useRef<Promise<void>>(Promise.resolve());

  useEffect(() => {
    if (!session) return;
    let live = true;
    let current: StartedClient | undefined;
    // No recovery key (an unencrypted team, or an older core): the window still reads rooms it has keys for.
    const recoveryKey = api.session.recoveryKey().then(
      (r) => r,
      () => undefined,
    );
    void recoveryKey.then((r) => {
      if (!live || !r) return;
      setRecovery(r);
      setRecoverySaved(recoveryKeyDismissed(window.localStorage, session.userId));
    });
    const run = clientChain.current.then(async () => {
      if (!live) return;
      try {
        current = await startMatrixClient(session, { recoveryKey: () => recoveryKey.then((r) => r?.recoveryKey) });
      } catch (err) {
        if (live) setError(errorText(err));
        return;
      }
      if (!live) return current.stop();
      setError(undefined);
      setStarted(current);
      setView((v) => v ?? { kind: 'room', roomId: session.roomId });
    });
    clientChain.current = run;
    return () => {
      live = false;
      current?.stop();
    };
  }, [api, session]);

  return {
    started,
    newRecoveryKey: recovery?.created && !recoverySaved ? recovery : undefined,
    dismissRecoveryKey: () => {
      if (!session) return;
      dismissRecoveryKey(window.localStorage, session.userId);
      setRecoverySaved(true);
    },
  };
}
