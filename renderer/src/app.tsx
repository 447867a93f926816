// The chat window: finds the control API, starts the owner's Matrix client, applies the theme, and
// shows first-run setup until the team has a usable model, then the rooms and panels (and, on the run that made
// it, the owner's recovery key once).
import { useEffect, useRef, useState } from 'react';
import type { AgentRoomApi } from '../../main/common/contract-api.ts';
import type { AppInfo, OwnerRecoveryKey, OwnerSession } from '../../main/common/contract.ts';
import { ChatView } from './components/chat-view.tsx';
import { dismissRecoveryKey, RecoveryKeyCard, recoveryKeyDismissed } from './components/recovery-key-card.tsx';
import { Sidebar, type View } from './components/sidebar.tsx';
import { ApiContext, errorText, useBots, useJobs, useSettings, useStatus } from './hooks/control.ts';
import { startMatrixClient, type StartedClient } from './matrix/client.ts';
import { useEncryptionState } from './matrix/use-encryption.ts';
import { BotsPanel } from './panels/bots-panel.tsx';
import { FirstRun } from './panels/first-run.tsx';
import { ModelsPanel } from './panels/models-panel.tsx';
import { SettingsPanel } from './panels/settings-panel.tsx';
import { StatusPanel } from './panels/status-panel.tsx';

export function App({ api }: { api: AgentRoomApi | undefined }) {
  if (!api) {
    return (
      <div className="center-screen" role="alert">
        <h1>Agent Room</h1>
        <p>This page needs its access token. Open the address that <code>agent-room serve</code> printed (it ends in #token=…).</p>
      </div>
    );
  }
  return (
    <ApiContext.Provider value={api}>
      <Shell api={api} />
    </ApiContext.Provider>
  );
}

function useTheme(theme: 'system' | 'light' | 'dark' | undefined): void {
  useEffect(() => {
    const root = document.documentElement;
    if (!theme || theme === 'system') root.removeAttribute('data-theme');
    else root.setAttribute('data-theme', theme);
  }, [theme]);
}

function Shell({ api }: { api: AgentRoomApi }) {
  const [settings, setSettings] = useSettings();
  const status = useStatus();
  const [bots, refreshBots] = useBots();
  const jobs = useJobs();
  const [info, setInfo] = useState<AppInfo>();
  const [session, setSession] = useState<OwnerSession>();
  const [error, setError] = useState<string>();
  const [view, setView] = useState<View>();
  const [started, setStarted] = useState<StartedClient>();
  const encryption = useEncryptionState(started);
  const client = started?.client;
  const [recovery, setRecovery] = useState<OwnerRecoveryKey>();
  const [recoverySaved, setRecoverySaved] = useState(false);
  // One client at a time on the crypto store: a restart of the effect waits for the previous client to stop.
  const clientChain = useRef<Promise<void>>(Promise.resolve());
  useTheme(settings?.ui.theme);

  // First run lasts while there is no bot, or while the core says the team waits for a model download.
  // Once the room opened, a bot later set to a model that still downloads does not bring setup back.
  const [teamReady, setTeamReady] = useState(false);
  const statusKnown = status !== undefined;
  const firstRun = settings !== undefined && statusKnown && (settings.bots.length === 0 || (status.firstRun !== undefined && !teamReady));
  useEffect(() => {
    if (settings && statusKnown && !firstRun) setTeamReady(true);
  }, [settings, statusKnown, firstRun]);

  useEffect(() => {
    api.app.info().then(setInfo, () => undefined);
  }, [api]);

  // The Matrix session exists once the homeserver and provisioner ran; retry until then.
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

  const running = [...jobs.values()].filter((j) => j.state === 'running' || j.state === 'queued').length;

  if (!settings || !status) return <div className="center-screen" role="status">Starting…</div>;
  if (firstRun) return <FirstRun jobs={jobs} waiting={status.firstRun} onDone={setSettings} />;
  if (!client || !session || !view) {
    return (
      <div className="center-screen" role="status">
        <h1>Opening the team room…</h1>
        {error && <p className="muted">{error}</p>}
      </div>
    );
  }
  return (
    <div className="layout">
      <Sidebar client={client} teamRoomId={session.roomId} view={view} onView={setView} downloads={running} />
      <div className="content">
        {recovery?.created && !recoverySaved && (
          <RecoveryKeyCard
            recoveryKey={recovery.recoveryKey}
            onDismiss={() => {
              dismissRecoveryKey(window.localStorage, session.userId);
              setRecoverySaved(true);
            }}
          />
        )}
        {view.kind === 'room' && <ChatView key={view.roomId} client={client} roomId={view.roomId} bots={bots} status={status} encryption={encryption} />}
        {view.kind === 'status' && <StatusPanel status={status} />}
        {view.kind === 'models' && <ModelsPanel bots={bots} jobs={jobs} onBotsChanged={refreshBots} />}
        {view.kind === 'bots' && <BotsPanel settings={settings} bots={bots} />}
        {view.kind === 'settings' && <SettingsPanel settings={settings} status={status} desktop={info?.shell === 'desktop'} onSaved={setSettings} />}
      </div>
    </div>
  );
}
