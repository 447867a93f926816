// Bad attachments in the room, one row each (the README's bad-input table says the same): the real bot runner on the
// test homeserver (or a real one), bots on the recording test servers. Each gets one clear notice in reply, no model
// is asked, the bot keeps running (the next mention is answered), and nothing is written outside the data folder.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptAttachment } from '../../main/core/attachments/media-crypto.ts';
import { say, waitFor } from '../support/bots-harness.ts';
import {
  attachmentContent,
  outcomeOf,
  startAttachmentsTeam,
  type AttachmentsTeam,
} from '../support/attachments-team.ts';
import { pdf, scannedPdf, solidImage, zip } from '../support/documents.ts';

let t: AttachmentsTeam;
const files = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
let stateBefore: string[];
let vipsBefore: Set<string>;

beforeAll(async () => {
  t = await startAttachmentsTeam();
  stateBefore = files(t.team.stateDir);
  vipsBefore = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('vips-')));
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const PIXEL = () => ({ 'm.mentions': { user_ids: [t.userId('pixel')] } });

/** Sends the attachment with a caption mentioning Pixel; its one notice (and that no reply and no model call came). */
async function refusal(bytes: Uint8Array, o: Parameters<typeof attachmentContent>[2]): Promise<string> {
  const chatsBefore = t.ollama.requestsTo('/api/chat').length;
  const id = await say(t.team, {
    ...(await attachmentContent(t.team.owner, bytes, { caption: '@pixel what is this?', ...o })),
    ...PIXEL(),
  });
  const text = await waitFor('the notice', () => outcomeOf(t.team.seen, id, t.userId('pixel')).notices[0]);
  // The bot keeps running: the next mention is answered (rooms are queued in order, so this one is done).
  const next = await say(t.team, { msgtype: 'm.text', body: '@pixel still there?', ...PIXEL() });
  await waitFor('the next answer', () => outcomeOf(t.team.seen, next, t.userId('pixel')).replies.find((r) => r.final));
  const outcome = outcomeOf(t.team.seen, id, t.userId('pixel'));
  expect(outcome.notices).toHaveLength(1);
  expect(outcome.replies).toHaveLength(0);
  expect(t.ollama.requestsTo('/api/chat').length).toBe(chatsBefore + 1);
  return text;
}

describe('bad attachments: one clear notice each, and the bot keeps running', () => {
  it('a 100 MB file is refused before download, with the limit', async () => {
    const before = t.media.length;
    const text = await refusal(new Uint8Array(2048).fill(1), {
      kind: 'file',
      filename: 'huge.iso',
      mimetype: 'application/octet-stream',
      declaredSize: 100 * 1024 * 1024,
    });
    expect(text).toBe(
      '⚠️ huge.iso is 100 MB, over the 20 MB limit for attachments, so it was not downloaded. ' +
        'Send a smaller file, or raise attachments.maxBytes in the settings.',
    );
    expect(t.media.slice(before)).toEqual([]);
  });

  it('a file larger than it declares is stopped once it passes the limit', async () => {
    const limit = t.team.settings.attachments.maxBytes;
    t.team.settings.attachments.maxBytes = 256 * 1024;
    try {
      const text = await refusal(new Uint8Array(1024 * 1024).fill(7), {
        kind: 'file',
        filename: 'liar.bin',
        mimetype: 'application/octet-stream',
        declaredSize: 1000,
      });
      expect(text).toMatch(/^⚠️ liar\.bin is larger than the 256 KB limit .*said 1000 B.*download was stopped/);
    } finally {
      t.team.settings.attachments.maxBytes = limit;
    }
  });

  it('a truncated PNG', async () => {
    const png = await solidImage(300, 300, 'png');
    const text = await refusal(png.subarray(0, png.length - 50), {
      kind: 'image',
      filename: 'cut.png',
      mimetype: 'image/png',
    });
    expect(text).toMatch(/^⚠️ cut\.png could not be decoded as an image .*cut short or damaged/);
  });

  it('a PNG that is not a PNG', async () => {
    const text = await refusal(new TextEncoder().encode('this is not an image at all'), {
      kind: 'image',
      filename: 'photo.png',
      mimetype: 'image/png',
    });
    expect(text).toMatch(/^⚠️ photo\.png is not a PNG image: its bytes are not one/);
  });

  it('a zip named .pdf', async () => {
    const text = await refusal(zip({ 'a.txt': 'hello', 'b.txt': 'world' }), {
      kind: 'file',
      filename: 'report.pdf',
      mimetype: 'application/pdf',
    });
    expect(text).toMatch(/^⚠️ report\.pdf is not a PDF: it is a ZIP archive\./);
  });

  it('a PDF with no text (a scan)', async () => {
    const text = await refusal(await scannedPdf(), { kind: 'file', filename: 'scan.pdf', mimetype: 'application/pdf' });
    expect(text).toMatch(/^⚠️ scan\.pdf has no text layer \(it looks like a scan\)/);
  });

  it('an image in an unsupported format: HEIC', async () => {
    const heic = Buffer.alloc(256);
    heic.writeUInt32BE(24, 0);
    heic.write('ftypheicmif1heic', 4, 'latin1');
    const text = await refusal(new Uint8Array(heic), {
      kind: 'image',
      filename: 'IMG_0042.HEIC',
      mimetype: 'image/heic',
    });
    expect(text).toMatch(/^⚠️ IMG_0042\.HEIC is a HEIC image, which I cannot read\. Send it as JPEG or PNG/);
  });

  it('an image in an unsupported format: SVG with scripts', async () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>fetch("https://evil")</script></svg>';
    const text = await refusal(new TextEncoder().encode(svg), {
      kind: 'image',
      filename: 'logo.svg',
      mimetype: 'image/svg+xml',
    });
    expect(text).toMatch(/^⚠️ logo\.svg is an SVG image.*scripts/);
  });

  it('an encrypted file whose hash does not match', async () => {
    const { cipher, file } = await encryptAttachment(await pdf([['Secret']]));
    const upload = await t.team.owner.uploadContent(Buffer.from(cipher), {
      name: 'secret.pdf',
      type: 'application/octet-stream',
    });
    const other = await encryptAttachment(new Uint8Array([1, 2, 3]));
    const chatsBefore = t.ollama.requestsTo('/api/chat').length;
    const id = await say(t.team, {
      msgtype: 'm.file',
      body: '@pixel read this',
      filename: 'secret.pdf',
      info: { mimetype: 'application/pdf', size: cipher.length },
      file: { ...file, url: upload.content_uri, hashes: other.file.hashes },
      ...PIXEL(),
    });
    const text = await waitFor('the notice', () => outcomeOf(t.team.seen, id, t.userId('pixel')).notices[0]);
    expect(text).toMatch(/^⚠️ secret\.pdf does not match the hash in its message: it was changed or damaged/);
    expect(t.ollama.requestsTo('/api/chat').length).toBe(chatsBefore);
  });

  it('nothing was written outside the data folder (no libvips temporary files), and nothing new inside it', () => {
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('vips-') && !vipsBefore.has(f))).toEqual([]);
    const added = files(t.team.stateDir).filter((f) => !stateBefore.includes(f));
    expect(added.filter((f) => !/^bots(\/[\w.-]+\.json)?$/.test(f))).toEqual([]);
    expect(files(join(t.team.stateDir)).some((f) => /\.(png|jpe?g|pdf|heic|svg|zip|iso|bin)$/i.test(f))).toBe(false);
  });
});
