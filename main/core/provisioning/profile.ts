// An account's profile as settings want it: its display name, and an avatar (an mxc:// URI as given, else the PNG
// uploaded once), each changed only when it differs from what the homeserver has.
import { MatrixError, type MatrixClient } from 'matrix-js-sdk';
import type { ProvisionedBotState } from './state.ts';

export async function ensureProfile(
  client: MatrixClient,
  userId: string,
  displayName: string,
  avatar?: { key: string; mxc?: string; png?: Buffer; previous?: ProvisionedBotState },
): Promise<{ avatarKey?: string; avatarUrl?: string }> {
  let profile: { displayname?: string; avatar_url?: string } = {};
  try {
    profile = await client.getProfileInfo(userId);
  } catch (err) {
    if (!(err instanceof MatrixError && err.httpStatus === 404)) throw err;
  }
  if (profile.displayname !== displayName) await client.setDisplayName(displayName);
  if (!avatar) return {};
  if (
    avatar.previous?.avatarKey === avatar.key &&
    avatar.previous.avatarUrl &&
    profile.avatar_url === avatar.previous.avatarUrl
  ) {
    return { avatarKey: avatar.key, avatarUrl: avatar.previous.avatarUrl };
  }
  let url = avatar.mxc;
  if (!url && avatar.png)
    url = (
      await client.uploadContent(toArrayBuffer(avatar.png), {
        name: 'avatar.png',
        type: 'image/png',
        includeFilename: true,
      })
    ).content_uri;
  if (url && profile.avatar_url !== url) await client.setAvatarUrl(url);
  return { avatarKey: avatar.key, avatarUrl: url };
}

/** An ArrayBuffer of exactly the bytes: accepted by every fetch body type, DOM or Node. */
function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
