// Settings: LAN access (with the address and a QR code for a phone's Matrix client), start at login,
// close to tray, theme.
import { useEffect, useState } from 'react';
import QRCode from 'qrcode';
import type { AppStatus } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import { errorText, useApi } from '../hooks/control.ts';

export function SettingsPanel({ settings, status, desktop, onSaved }: { settings: Settings; status?: AppStatus; desktop: boolean; onSaved?: (s: Settings) => void }) {
  const api = useApi();
  const [error, setError] = useState<string>();
  const [qr, setQr] = useState<string>();
  const hs = settings.homeserver;
  const lanOn = hs.mode === 'bundled' && hs.lanAccess;
  // Only the core knows the LAN address (the loopback URL would not work from a phone).
  const lanUrl = lanOn ? status?.homeserver.lanUrl : undefined;

  useEffect(() => {
    setQr(undefined);
    if (!lanOn || !lanUrl) return;
    QRCode.toDataURL(lanUrl, { margin: 1, width: 200 }).then(setQr, () => setQr(undefined));
  }, [lanOn, lanUrl]);

  const patch = async (p: Parameters<typeof api.settings.update>[0]) => {
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
      <div className="card">
        <h2>Phone and other devices</h2>
        {hs.mode === 'bundled' ? (
          <>
            <label className="check">
              <input type="checkbox" checked={hs.lanAccess} onChange={(e) => void patch({ homeserver: { lanAccess: e.target.checked } })} />
              Allow devices on my network (LAN access)
            </label>
            <p className="muted">The homeserver listens on this computer only unless this is on. Takes effect after a restart.</p>
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
      <div className="card">
        <h2>Desktop</h2>
        <label className="check">
          <input type="checkbox" checked={settings.ui.startAtLogin} disabled={!desktop} onChange={(e) => void patch({ ui: { startAtLogin: e.target.checked } })} />
          Start at login
        </label>
        <label className="check">
          <input type="checkbox" checked={settings.ui.closeToTray} disabled={!desktop} onChange={(e) => void patch({ ui: { closeToTray: e.target.checked } })} />
          Keep running in the tray when the window closes
        </label>
        {!desktop && <p className="muted">These apply to the desktop app; this window is served by agent-room serve.</p>}
      </div>
      <div className="card">
        <h2>Appearance</h2>
        <fieldset className="radio-row">
          <legend className="label">Theme</legend>
          {(['system', 'light', 'dark'] as const).map((t) => (
            <label key={t} className="check">
              <input type="radio" name="theme" value={t} checked={settings.ui.theme === t} onChange={() => void patch({ ui: { theme: t } })} />
              {t === 'system' ? 'Follow the system' : t === 'light' ? 'Light' : 'Dark'}
            </label>
          ))}
        </fieldset>
      </div>
      {error && <p className="error-text" role="alert">{error}</p>}
    </section>
  );
}
