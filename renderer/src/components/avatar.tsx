// An avatar: the mxc thumbnail fetched with the access token (authenticated media cannot go in an <img>
// URL), shown as a blob: URL; initials on a colour from the name when there is none or it fails.
import { useEffect, useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { initials } from '../lib/format.ts';

function hue(text: string): number {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

export function Avatar({
  client,
  mxc,
  name,
  size = 36,
}: {
  client?: MatrixClient;
  mxc?: string | null;
  name: string;
  size?: number;
}) {
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    setSrc(undefined);
    if (!client || !mxc?.startsWith('mxc://')) return;
    let url: string | undefined;
    let live = true;
    const authed = client.mxcUrlToHttp(mxc, size * 2, size * 2, 'crop', false, true, true);
    const plain = client.mxcUrlToHttp(mxc, size * 2, size * 2, 'crop', false, true, false);
    (async () => {
      for (const [candidate, auth] of [
        [authed, true],
        [plain, false],
      ] as const) {
        if (!candidate) continue;
        try {
          const res = await fetch(
            candidate,
            auth ? { headers: { Authorization: `Bearer ${client.getAccessToken() ?? ''}` } } : {},
          );
          if (!res.ok) continue;
          const blob = await res.blob();
          if (!live) return;
          url = URL.createObjectURL(blob);
          setSrc(url);
          return;
        } catch {
          // Try the next URL; initials stay otherwise.
        }
      }
    })();
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, mxc, size]);
  const style = { width: size, height: size, background: `hsl(${hue(name)} 55% 45%)`, fontSize: size * 0.4 };
  return src ? (
    <img className="avatar" src={src} alt="" style={{ width: size, height: size }} onError={() => setSrc(undefined)} />
  ) : (
    <span className="avatar avatar-initials" style={style} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
