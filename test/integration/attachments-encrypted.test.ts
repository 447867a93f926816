// Attachments in an encrypted room: the owner's client (Rust crypto) uploads an image encrypted with AES-CTR and sends
// the m.image with its `file` (key, IV, hash) in an encrypted event; the bot decrypts the event, downloads the
// ciphertext through the authenticated media API, checks its hash, decrypts it, and its Ollama vision model gets the
// image's pixels. What the homeserver stores is the ciphertext only. An encrypted file whose hash does not match gets
// one notice, encrypted too. Runs on the test homeserver, or a real one (npm run test:external).
import sharp from 'sharp';
import { createClient } from 'matrix-js-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotAccount } from '../../main/core/bots/types.ts';
import { quiet, waitFor } from '../support/bots-harness.ts';
import {
  attachmentContent,
  routerInference,
  visionRouter,
  visionServers,
  visionSettings,
} from '../support/attachments-team.ts';
import { startCryptoTeam, type CryptoTeam } from '../support/crypto-team.ts';
import { pdf } from '../support/documents.ts';
import type { OllamaTestServer } from '../support/ollama-server.ts';
import type { OpenAITestServer } from '../support/openai-server.ts';

let team: CryptoTeam;
let servers: { ollama: OllamaTestServer; openai: OpenAITestServer };
let roomId = '';
const bots: BotAccount[] = [];

beforeAll(async () => {
  servers = await visionServers();
  team = await startCryptoTeam({
    serverName: 'e2e-attach.local',
    dirPrefix: 'attachments-e2e-',
    makeInference: (settings) => routerInference(visionRouter({ settings })),
  });
  for (const id of ['pixel', 'echo']) bots.push(await team.addBot(id, 200));
  visionSettings(team, servers);
  roomId = (
    await team.owner.createRoom({
      name: 'AI Team',
      invite: bots.map((b) => b.userId),
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    })
  ).room_id;
  for (const b of bots) await createClient({ baseUrl: team.hs.url, ...b, logger: quiet }).joinRoom(roomId);
  await team.startRunner(roomId, bots);
  await team.ownerKnowsDevices(bots);
}, 120_000);
afterAll(async () => {
  await team?.close();
  await Promise.all([servers?.ollama.close(), servers?.openai.close()]);
});

const pixel = () => bots.find((b) => b.id === 'pixel')!;
const inReplyTo = (c: Record<string, unknown>) =>
  (c['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']?.event_id;

async function send(content: Record<string, unknown>): Promise<string> {
  const res = await team.owner.sendEvent(roomId, 'm.room.message' as never, content as never);
  return res.event_id;
}

describe('attachments in an encrypted room', () => {
  it('an encrypted image is decrypted, checked and given to the vision model as its pixels', async () => {
    // With transparency it stays a PNG (lossless) on its way to the model: the pixels can be compared exactly.
    const png = await sharp({
      create: { width: 120, height: 80, channels: 4, background: { r: 10, g: 200, b: 60, alpha: 0.8 } },
    })
      .png()
      .toBuffer();
    const content = await attachmentContent(team.owner, png, {
      kind: 'image',
      filename: 'secret-plan.png',
      mimetype: 'image/png',
      caption: 'Pixel: what is this?',
      encrypt: true,
    });
    expect(content.url).toBeUndefined();
    const before = servers.ollama.requestsTo('/api/chat').length;
    const id = await send({ ...content, 'm.mentions': { user_ids: [pixel().userId] } });
    // The event itself travelled encrypted.
    expect(team.owner.getRoom(roomId)?.findEventById(id)?.getWireType()).toBe('m.room.encrypted');
    const reply = await waitFor(
      "pixel's reply",
      () => team.seen.find((e) => e.sender === pixel().userId && inReplyTo(e.content) === id),
      30_000,
    );
    expect(reply.wireType).toBe('m.room.encrypted');
    const req = servers.ollama.requestsTo('/api/chat').slice(before);
    expect(req.map((r) => r.body!.model)).toEqual(['llava:7b']);
    const msg = (req[0]!.body!.messages as Array<{ role: string; images?: string[] }>).at(-1)!;
    const got = Buffer.from(msg.images![0]!, 'base64');
    const [a, b] = await Promise.all([sharp(got).raw().toBuffer(), sharp(png).raw().toBuffer()]);
    expect(a.equals(b)).toBe(true);
    // The homeserver holds only the ciphertext.
    const mxc = (content.file as { url: string }).url.slice('mxc://'.length);
    const res = await fetch(`${team.hs.url}/_matrix/client/v1/media/download/${mxc}`, {
      headers: { authorization: `Bearer ${team.owner.getAccessToken()}` },
    });
    const stored = Buffer.from(await res.arrayBuffer());
    expect([res.status, stored.length, stored.equals(png)]).toEqual([200, png.length, false]);
  });

  it('an encrypted file whose hash does not match gets one notice, encrypted too', async () => {
    const content = await attachmentContent(team.owner, await pdf([['Payroll']]), {
      kind: 'file',
      filename: 'payroll.pdf',
      mimetype: 'application/pdf',
      caption: 'Pixel: read this',
      encrypt: true,
    });
    const file = content.file as { hashes: { sha256: string } };
    file.hashes.sha256 = `${file.hashes.sha256.slice(0, -4)}AAAA`;
    const before = servers.ollama.requestsTo('/api/chat').length;
    const id = await send({ ...content, 'm.mentions': { user_ids: [pixel().userId] } });
    const notice = await waitFor(
      "pixel's notice",
      () => team.seen.find((e) => e.sender === pixel().userId && inReplyTo(e.content) === id),
      30_000,
    );
    expect(notice.wireType).toBe('m.room.encrypted');
    expect(notice.content).toMatchObject({
      msgtype: 'm.notice',
      body: expect.stringMatching(/^⚠️ payroll\.pdf does not match the hash in its message/),
    });
    expect(servers.ollama.requestsTo('/api/chat').length).toBe(before);
  });
});
