// Settings: LAN access (with the address and a QR code for a phone's Matrix client), start at login,
// close to tray, theme; the master agent's tasks, classifier, pipelines and cloud endpoints (their own cards); and the
// MCP servers the bots take tools from (settings-tools.tsx).
import { useEffect, useState } from 'react';
import QRCode from 'qrcode';
import type { AppStatus } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { errorText, useApi } from '../hooks/control.ts';
import { ApiCard } from './settings-api.tsx';
import { EndpointsCard } from './settings-endpoints.tsx';
import { PipelinesCard } from './settings-pipelines.tsx';
import { ClassifierCard, TasksCard } from './settings-tasks.tsx';
import { ToolsCard } from './settings-tools.tsx';

export function SettingsPanel({
  settings,
  status,
  desktop,
  onSaved,
}: {
  settings: Settings;
  status?: AppStatus;
  desktop: boolean;
  onSaved?: (s: Settings) => void;
}) {
  const api = useApi();
  const [error, setError] = useState<string>();
  const saved = onSaved ? { onSaved } : {};
  const patch: Patch = async (p) => {
    setError(undefined);
    try {
      onSaved?.(await api.settings.update(p));
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="panel" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <LanCard homeserver={settings.homeserver} status={status} patch={patch} />
      <EncryptionCard />
      <ApiCard settings={settings} desktop={desktop} onSaved={onSaved} />
      <ToolsCard />
      <DesktopCard ui={settings.ui} desktop={desktop} patch={patch} />
      <AppearanceCard theme={settings.ui.theme} patch={patch} />
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <TasksCard settings={settings} {...saved} />
      <ClassifierCard settings={settings} {...saved} />
      <PipelinesCard settings={settings} {...saved} />
      <EndpointsCard settings={settings} {...saved} />
    </section>
  );
}

/** LAN access, with the address and a QR code for a phone's Matrix client. */
function LanCard({
  homeserver: hs,
  status,
  patch,
}: {
  homeserver: Settings['homeserver'];
  status: AppStatus | undefined;
  patch: Patch;
}) {
  const [qr, setQr] = useState<string>();
  const lanOn = hs.mode === 'bundled' && hs.lanAccess;
  // Only the core knows the LAN address (the loopback URL would not work from a phone).
  const lanUrl = lanOn ? status?.homeserver.lanUrl : undefined;

  useEffect(() => {
    setQr(undefined);
    if (!lanOn || !lanUrl) return;
    QRCode.toDataURL(lanUrl, { margin: 1, width: 200 }).then(setQr, () => setQr(undefined));
  }, [lanOn, lanUrl]);

  return (
    <div className="card">
      <h2>Phone and other devices</h2>
      {hs.mode === 'bundled' ? (
        <>
          <label className="check">
            <input
              type="checkbox"
              checked={hs.lanAccess}
              onChange={(e) => void patch({ homeserver: { lanAccess: e.target.checked } })}
            />
            Allow devices on my network (LAN access)
          </label>
          <p className="muted">
            The homeserver listens on this computer only unless this is on. Takes effect after a restart.
          </p>
          {lanOn && (
            <div className="qr-block">
              {qr && <img src={qr} alt={`QR code for ${lanUrl}`} width={200} height={200} />}
              <div>
                <p>In Element or FluffyChat on your phone, use this homeserver:</p>
                <code className="copyable">{lanUrl ?? 'available once the homeserver has restarted'}</code>
                {status?.homeserver.serverName && <p className="muted">Server name: {status.homeserver.serverName}</p>}
              </div>
            </div>
          )}
        </>
      ) : (
        <p>Using the external homeserver {hs.url}: connect other clients to it directly.</p>
      )}
    </div>
  );
}

type Patch = (p: Parameters<ReturnType<typeof useApi>['settings']['update']>[0]) => Promise<void>;

/** Start at login and close to tray: the desktop app's own settings. */
function DesktopCard({ ui, desktop, patch }: { ui: Settings['ui']; desktop: boolean; patch: Patch }) {
  return (
    <div className="card">
      <h2>Desktop</h2>
      <label className="check">
        <input
          type="checkbox"
          checked={ui.startAtLogin}
          disabled={!desktop}
          onChange={(e) => void patch({ ui: { startAtLogin: e.target.checked } })}
        />
        Start at login
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={ui.closeToTray}
          disabled={!desktop}
          onChange={(e) => void patch({ ui: { closeToTray: e.target.checked } })}
        />
        Keep running in the tray when the window closes
      </label>
      {!desktop && <p className="muted">These apply to the desktop app; this window is served by agent-room serve.</p>}
    </div>
  );
}

function AppearanceCard({ theme, patch }: { theme: Settings['ui']['theme']; patch: Patch }) {
  return (
    <div className="card">
      <h2>Appearance</h2>
      <fieldset className="radio-row">
        <legend className="label">Theme</legend>
        {(['system', 'light', 'dark'] as const).map((t) => (
          <label key={t} className="check">
            <input
              type="radio"
              name="theme"
              value={t}
              checked={theme === t}
              onChange={() => void patch({ ui: { theme: t } })}
            />
            {t === 'system' ? 'Follow the system' : t === 'light' ? 'Light' : 'Dark'}
          </label>
        ))}
      </fieldset>
    </div>
  );
}

/**
 * The team room's encryption: nothing to do when the app holds the recovery key; otherwise (your own account, its
 * encryption set up in Element) a field for its recovery key, so the app uses your keys and verifies the bots.
 */
function EncryptionCard() {
  const api = useApi();
  const [state, setState] = useState<{ encrypted: boolean; recoveryKeyKnown: boolean }>();
  const [key, setKey] = useState('');
  const [message, setMessage] = useState<{ text: string; error: boolean }>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    api.session.encryption().then(
      (s) => live && setState(s),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api]);

  if (!state?.encrypted) return null;
  const save = async () => {
    setBusy(true);
    setMessage(undefined);
    try {
      const r = await api.session.setRecoveryKey({ recoveryKey: key });
      setKey('');
      setState({ ...state, recoveryKeyKnown: true });
      setMessage({
        text: `Saved${r.replaced ? ' (the key it replaces is kept)' : ''}. Agent Room now verifies the bots with your keys; reload this window to let it open your key backup.`,
        error: false,
      });
    } catch (err) {
      setMessage({ text: errorText(err), error: true });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card">
      <h2>Encryption</h2>
      {state.recoveryKeyKnown ? (
        <p>
          The team room is end-to-end encrypted. Agent Room holds your recovery key: your devices trust the bots, and
          new devices read the history from your key backup.
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <p>
            Your account&apos;s encryption was set up elsewhere (in Element). Agent Room leaves those keys alone; give
            it the recovery key and it uses them to verify the bots.
          </p>
          <label className="label" htmlFor="recovery-key-input">
            Recovery key
          </label>
          <input
            id="recovery-key-input"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="EsTc 1234 …"
          />
          <button type="submit" disabled={busy || key.trim() === ''}>
            Use this key
          </button>
        </form>
      )}
      {message && (
        <p className={message.error ? 'error-text' : 'muted'} role={message.error ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
    </div>
  );
}
