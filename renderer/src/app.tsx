// The chat window: finds the control API, starts the owner's Matrix client, applies the theme, and
// shows first-run setup until the team has a usable model, then the rooms and panels (and, on the run that made
// it, the owner's recovery key once).
import { useEffect, useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import type { AgentRoomApi } from '../../main/common/contract-api.ts';
import type { AppInfo, AppStatus, BotInfo, PullJob } from '../../main/common/contract.ts';
import type { Settings } from '../../main/common/settings-schema.ts';
import { ChatView } from './components/chat-view.tsx';
import { RecoveryKeyCard } from './components/recovery-key-card.tsx';
import { UpdateBanner } from './components/update-banner.tsx';
import { Sidebar, type View } from './components/sidebar.tsx';
import { ApiContext, useBots, useJobs, useSettings, useStatus } from './hooks/control.ts';
import { useFirstRunGate, useOwnerClient, useOwnerSession } from './hooks/use-team-session.ts';
import { useEncryptionState, type EncryptionState } from './matrix/use-encryption.ts';
import { AuditPanel } from './panels/audit-panel.tsx';
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
        <p>
          This page needs its access token. Open the address that <code>agent-room serve</code> printed (it ends in
          #token=…).
        </p>
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
  const [error, setError] = useState<string>();
  const [view, setView] = useState<View>();
  useTheme(settings?.ui.theme);
  const firstRun = useFirstRunGate(settings, status);

  useEffect(() => {
    api.app.info().then(setInfo, () => undefined);
  }, [api]);

  const session = useOwnerSession(api, status !== undefined, firstRun, setError);
  const owner = useOwnerClient(api, session, setError, setView);
  const encryption = useEncryptionState(owner.started);
  const client = owner.started?.client;
  const running = [...jobs.values()].filter((j) => j.state === 'running' || j.state === 'queued').length;

  if (!settings || !status)
    return (
      <div className="center-screen" role="status">
        Starting…
      </div>
    );
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
        {info?.shell === 'desktop' && <UpdateBanner />}
        {owner.newRecoveryKey && (
          <RecoveryKeyCard recoveryKey={owner.newRecoveryKey.recoveryKey} onDismiss={owner.dismissRecoveryKey} />
        )}
        <CurrentView
          view={view}
          client={client}
          settings={settings}
          status={status}
          bots={bots}
          jobs={jobs}
          encryption={encryption}
          desktop={info?.shell === 'desktop'}
          onBotsChanged={refreshBots}
          onSettingsSaved={setSettings}
        />
      </div>
    </div>
  );
}

interface CurrentViewProps {
  view: View;
  client: MatrixClient;
  settings: Settings;
  status: AppStatus;
  bots: BotInfo[];
  jobs: Map<string, PullJob>;
  encryption: EncryptionState | undefined;
  desktop: boolean;
  onBotsChanged: () => void;
  onSettingsSaved: (settings: Settings) => void;
}

/** The room or panel the sidebar chose. */
function CurrentView({
  view,
  client,
  settings,
  status,
  bots,
  jobs,
  encryption,
  desktop,
  onBotsChanged,
  onSettingsSaved,
}: CurrentViewProps) {
  return (
    <>
      {view.kind === 'room' && (
        <ChatView
          key={view.roomId}
          client={client}
          roomId={view.roomId}
          bots={bots}
          status={status}
          encryption={encryption}
        />
      )}
      {view.kind === 'status' && <StatusPanel status={status} />}
      {view.kind === 'models' && <ModelsPanel bots={bots} jobs={jobs} onBotsChanged={onBotsChanged} />}
      {view.kind === 'bots' && <BotsPanel settings={settings} bots={bots} />}
      {view.kind === 'audit' && <AuditPanel settings={settings} />}
      {view.kind === 'settings' && (
        <SettingsPanel settings={settings} status={status} desktop={desktop} onSaved={onSettingsSaved} />
      )}
    </>
  );
}
