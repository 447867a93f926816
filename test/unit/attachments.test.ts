// Attachments as decisions and conversions: which events a mention brings (a table), encrypted attachments decrypted
// and their hash checked, the type read from the bytes (bad input refused with what to send), documents to text, images
// stripped and scaled, the download capped before and during it, documents cut to the prompt budget.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { AttachmentError } from '../../main/core/attachments/attachment-errors.ts';
import { attachmentOf } from '../../main/core/attachments/attachment-event.ts';
import { readAs } from '../../main/core/attachments/attachment-type.ts';
import { docxText, htmlText, pdfText } from '../../main/core/attachments/documents.ts';
import { gatherAttachments } from '../../main/core/attachments/gather.ts';
import { prepareImage } from '../../main/core/attachments/images.ts';
import { decryptAttachment, encryptAttachment } from '../../main/core/attachments/media-crypto.ts';
import { downloadMedia, type MediaSource } from '../../main/core/attachments/media-download.ts';
import { attachmentText, cutToTokens, type FoundAttachments } from '../../main/core/bots/reply-attachments.ts';
import type { RawEvent } from '../../main/core/bots/types.ts';
import { docx, pdf, scannedPdf, solidImage, zip } from '../support/documents.ts';

const BOT = '@alpha:hs.test';
const OWNER = '@owner:hs.test';
let n = 0;
function ev(content: Record<string, unknown>, sender = OWNER, id = `$e${++n}`): RawEvent {
  return { event_id: id, type: 'm.room.message', sender, origin_server_ts: n, content };
}
const image = (name: string, extra: Record<string, unknown> = {}) =>
  ev({ msgtype: 'm.image', body: name, url: `mxc://hs.test/${name.replace(/\W/g, '')}`, ...extra });
const text = (body: string, extra: Record<string, unknown> = {}) => ev({ msgtype: 'm.text', body, ...extra });
const names = (refs: Array<{ name: string }>) => refs.map((r) => r.name);

describe('attachmentOf', () => {
  it('reads a plain image, an encrypted file and a caption (MSC2530); not edits or text', () => {
    const plain = attachmentOf(image('cat.png', { info: { mimetype: 'image/png', size: 1234 } }))!;
    expect(plain).toMatchObject({ kind: 'image', name: 'cat.png', mimetype: 'image/png', size: 1234 });
    expect(plain.caption).toBeUndefined();
    const file = {
      url: 'mxc://hs.test/abc',
      key: { kty: 'oct', alg: 'A256CTR', k: 'x' },
      iv: 'i',
      hashes: {},
      v: 'v2',
    };
    const enc = attachmentOf(ev({ msgtype: 'm.file', body: '@alpha read', filename: 'a.pdf', file }))!;
    expect(enc).toMatchObject({ kind: 'file', name: 'a.pdf', caption: '@alpha read', mxc: 'mxc://hs.test/abc' });
    expect(enc.encrypted?.v).toBe('v2');
    expect(attachmentOf(text('hello'))).toBeUndefined();
    expect(attachmentOf(image('x.png', { 'm.relates_to': { rel_type: 'm.replace', event_id: '$o' } }))).toBeUndefined();
    expect(attachmentOf(ev({ msgtype: 'm.image', body: 'no url' }))).toBeUndefined();
    expect(attachmentOf(ev({ msgtype: 'constructor', body: 'x', url: 'mxc://a/b' }))).toBeUndefined();
  });
});

describe('gatherAttachments', () => {
  const inThread = (e: RawEvent, root: string): RawEvent => ({
    ...e,
    content: { ...e.content, 'm.relates_to': { rel_type: 'm.thread', event_id: root } },
  });
  const root = image('root.png');
  const before = inThread(image('before.png'), root.event_id);
  const answer = inThread(text('my answer'), root.event_id);
  const answerEdit = {
    ...text('* edit', { 'm.relates_to': { rel_type: 'm.replace', event_id: answer.event_id } }),
    sender: BOT,
  };
  const after1 = inThread(image('after1.png'), root.event_id);
  const after2 = inThread(ev({ msgtype: 'm.file', body: 'notes.md', url: 'mxc://hs.test/n' }), root.event_id);
  const mention = inThread(text('@alpha compare them'), root.event_id);
  const botAnswer = { ...answer, sender: BOT };
  const thread = [root, before, botAnswer, answerEdit, after1, after2, mention];
  const cases: Array<[string, Parameters<typeof gatherAttachments>[0], string[], number]> = [
    [
      'the mention itself (an image with a caption)',
      { botUserId: BOT, trigger: image('own.png', { body: '@alpha?', filename: 'own.png' }), max: 8 },
      ['own.png'],
      0,
    ],
    [
      'the event replied to',
      { botUserId: BOT, trigger: text('@alpha?'), repliedTo: image('r.png'), max: 8 },
      ['r.png'],
      0,
    ],
    [
      'a text reply to a text: none',
      { botUserId: BOT, trigger: text('@alpha?'), repliedTo: text('hi'), max: 8 },
      [],
      0,
    ],
    [
      "the thread's since the bot's last answer (its edits do not count)",
      { botUserId: BOT, trigger: mention, thread, max: 8 },
      ['after1.png', 'notes.md'],
      0,
    ],
    [
      'the whole thread when the bot never answered there',
      { botUserId: BOT, trigger: mention, thread: thread.filter((e) => e.sender !== BOT), max: 8 },
      ['root.png', 'before.png', 'after1.png', 'notes.md'],
      0,
    ],
    [
      'replied-to and thread together, once each',
      { botUserId: BOT, trigger: mention, repliedTo: after1, thread, max: 8 },
      ['after1.png', 'notes.md'],
      0,
    ],
    [
      'over the cap: the newest kept, the rest counted',
      { botUserId: BOT, trigger: mention, thread: thread.filter((e) => e.sender !== BOT), max: 2 },
      ['after1.png', 'notes.md'],
      2,
    ],
  ];
  it.each(cases)('%s', (_name, input, expected, leftOut) => {
    const got = gatherAttachments(input);
    expect(names(got.refs)).toEqual(expected);
    expect(got.leftOut).toBe(leftOut);
  });
});

describe('encrypted attachments', () => {
  it('decrypt what was encrypted; refuse a changed byte, a wrong hash, an unknown version', async () => {
    const plain = new TextEncoder().encode('secret document text');
    const { cipher, file } = await encryptAttachment(plain);
    expect(Buffer.from(cipher).equals(Buffer.from(plain))).toBe(false);
    expect(new TextDecoder().decode(await decryptAttachment(cipher, file, 'a.txt'))).toBe('secret document text');
    const changed = cipher.slice();
    changed[3] = changed[3]! ^ 1;
    await expect(decryptAttachment(changed, file, 'a.txt')).rejects.toMatchObject({
      problem: 'HashMismatch',
      message: expect.stringMatching(/a\.txt does not match the hash/),
    });
    await expect(decryptAttachment(cipher, { ...file, hashes: { sha256: 'AAAA' } }, 'a.txt')).rejects.toBeInstanceOf(
      AttachmentError,
    );
    await expect(decryptAttachment(cipher, { ...file, v: 'v1' }, 'a.txt')).rejects.toThrow(/version "v1"/);
    await expect(decryptAttachment(cipher, { ...file, hashes: {} }, 'a.txt')).rejects.toThrow(/no SHA-256/);
  });
});

const heic = () => {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(24, 0);
  b.write('ftypheic', 4, 'latin1');
  b.write('mif1heic', 16, 'latin1');
  return new Uint8Array(b);
};

describe('readAs: the type from the bytes', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it.each([
    ['a PNG', async () => solidImage(4, 4, 'png'), 'x.png', { as: 'image', format: 'png' }],
    ['a JPEG named .png', async () => solidImage(4, 4, 'jpeg'), 'x.png', { as: 'image', format: 'jpeg' }],
    ['a PDF', async () => pdf([['hi']]), 'x.pdf', { as: 'pdf' }],
    ['a DOCX', async () => docx(['hi']), 'x.docx', { as: 'docx' }],
    ['HTML', async () => enc('<p>hi</p>'), 'page.html', { as: 'html' }],
    ['Markdown', async () => enc('# hi'), 'notes.md', { as: 'text', format: 'markdown' }],
    ['text with no name', async () => enc('hello'), 'file', { as: 'text', format: 'plain' }],
  ] as const)('%s', async (_n, bytes, name, expected) => {
    expect(await readAs(await bytes(), { name, kind: 'file' })).toEqual(expected);
  });
  it.each([
    [
      'a zip named .pdf',
      async () => zip({ 'a.txt': 'x' }),
      'report.pdf',
      'Damaged',
      /report\.pdf is not a PDF: it is a ZIP archive/,
    ],
    ['text named .png', async () => enc('not an image'), 'photo.png', 'Damaged', /photo\.png is not a PNG image/],
    ['HEIC', async () => heic(), 'IMG_1.heic', 'Unsupported', /HEIC image.*JPEG or PNG/],
    [
      'SVG with a script',
      async () => enc('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      'logo.svg',
      'Unsupported',
      /SVG.*scripts/,
    ],
    [
      'binary that is nothing known',
      async () => new Uint8Array([0, 1, 2, 3, 255, 254, 0, 7]),
      'blob',
      'Unsupported',
      /neither text/,
    ],
  ] as const)('%s is refused', async (_n, bytes, name, problem, message) => {
    await expect(readAs(await bytes(), { name, kind: 'file' })).rejects.toMatchObject({
      problem,
      message: expect.stringMatching(message),
    });
  });
});

describe('documents', () => {
  it('a PDF with a text layer, page by page; a scan says it has none', async () => {
    expect(await pdfText(await pdf([['Invoice 4711', 'Total 99.50 EUR'], ['Page two']]), 'i.pdf')).toBe(
      'Invoice 4711\nTotal 99.50 EUR\n\nPage two',
    );
    await expect(pdfText(await scannedPdf(), 'scan.pdf')).rejects.toMatchObject({
      problem: 'NoText',
      message: expect.stringMatching(/scan\.pdf has no text layer/),
    });
    await expect(pdfText(new TextEncoder().encode('%PDF-1.7\ngarbage'), 'bad.pdf')).rejects.toMatchObject({
      problem: 'Damaged',
    });
  });
  it('DOCX and HTML become text (no scripts, no styles)', async () => {
    expect(await docxText(docx(['First & one', 'Second <two>']), 'd.docx')).toBe('First & one\n\nSecond <two>');
    expect(
      htmlText(
        '<html><head><title>T</title><style>p{color:red}</style></head><body><h1>A &amp; B</h1><p>x<br>y</p>' +
          '<script>alert("no")</script><ul><li>one</li><li>two</li></ul></body></html>',
      ),
    ).toBe('A & B\nx\ny\none\ntwo');
  });
});

describe('images', () => {
  it('scaled to the limit, upright, with no EXIF or GPS left', async () => {
    const src = await solidImage(3000, 1200, 'jpeg', true);
    expect((await sharp(src).metadata()).exif).toBeDefined();
    const out = await prepareImage(src, 'big.jpg', 1568);
    expect(out).toMatchObject({ mime: 'image/jpeg', width: 1568, height: 627 });
    const meta = await sharp(out.data).metadata();
    expect([meta.width, meta.height, meta.exif, meta.xmp, meta.iptc]).toEqual([
      1568,
      627,
      undefined,
      undefined,
      undefined,
    ]);
    expect(Buffer.from(out.data).includes('secret-owner-copyright')).toBe(false);
    const small = await prepareImage(await solidImage(200, 100, 'webp'), 's.webp', 1568);
    expect([small.mime, small.width, small.height]).toEqual(['image/jpeg', 200, 100]);
  });
  it('a truncated PNG is refused as damaged', async () => {
    const png = await solidImage(300, 300, 'png');
    await expect(prepareImage(png.subarray(0, png.length - 40), 'cut.png', 1568)).rejects.toMatchObject({
      problem: 'Damaged',
      message: expect.stringMatching(/cut\.png could not be decoded/),
    });
  });
});

/** A fetch that answers every download with these bytes in chunks, counting what it was asked and what it sent. */
function mediaServer(bytes: Uint8Array, o: { chunk?: number; contentLength?: boolean; legacyOnly?: boolean } = {}) {
  const calls: Array<{ url: string; auth: string | undefined }> = [];
  let sent = 0;
  const fetch = (async (url: string, init?: RequestInit) => {
    const auth = (init?.headers as Record<string, string> | undefined)?.authorization;
    calls.push({ url, auth });
    if (o.legacyOnly && url.includes('/client/v1/'))
      return new Response(JSON.stringify({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }), {
        status: 404,
      });
    const size = o.chunk ?? 1024;
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= bytes.length) return c.close();
        const part = bytes.subarray(at, at + size);
        at += part.length;
        sent += part.length;
        c.enqueue(part);
      },
    });
    const headers: Record<string, string> = o.contentLength ? { 'content-length': String(bytes.length) } : {};
    return new Response(body, { status: 200, headers });
  }) as unknown as typeof globalThis.fetch;
  const source: MediaSource = { baseUrl: 'https://hs.test/', accessToken: () => 'tok', fetch };
  return { source, calls, sent: () => sent };
}

describe('downloadMedia', () => {
  const big = new Uint8Array(300 * 1024).fill(7);
  it('uses the authenticated media API with the bot token', async () => {
    const m = mediaServer(new Uint8Array([1, 2, 3]));
    const got = await downloadMedia(m.source, { mxc: 'mxc://hs.test/abc_D-1', name: 'a', maxBytes: 10 });
    expect([...got]).toEqual([1, 2, 3]);
    expect(m.calls).toEqual([
      { url: 'https://hs.test/_matrix/client/v1/media/download/hs.test/abc_D-1', auth: 'Bearer tok' },
    ]);
  });
  it('falls back to the legacy media API on a server that does not know v1', async () => {
    const m = mediaServer(new Uint8Array([9]), { legacyOnly: true });
    expect([...(await downloadMedia(m.source, { mxc: 'mxc://hs.test/a', name: 'a', maxBytes: 10 }))]).toEqual([9]);
    expect(m.calls.map((c) => c.url)).toEqual([
      'https://hs.test/_matrix/client/v1/media/download/hs.test/a',
      'https://hs.test/_matrix/media/v3/download/hs.test/a',
    ]);
  });
  it('refuses before downloading when the declared size is over the cap', async () => {
    const m = mediaServer(big);
    await expect(
      downloadMedia(m.source, {
        mxc: 'mxc://hs.test/a',
        name: 'huge.bin',
        declaredSize: 100 * 1024 * 1024,
        maxBytes: 20 * 1024 * 1024,
      }),
    ).rejects.toThrow(/huge\.bin is 100 MB, over the 20 MB limit for attachments, so it was not downloaded/);
    expect(m.calls).toHaveLength(0);
  });
  it('stops the download once it passes the cap, whatever was declared', async () => {
    const m = mediaServer(big, { chunk: 16 * 1024 });
    await expect(
      downloadMedia(m.source, { mxc: 'mxc://hs.test/a', name: 'liar.png', declaredSize: 1000, maxBytes: 64 * 1024 }),
    ).rejects.toThrow(/liar\.png is larger than the 64 KB limit.*said 1000 B.*download was stopped/);
    // The cap, the chunk that passed it and the one chunk a stream reads ahead: never the 300 KB.
    expect(m.sent()).toBeLessThanOrEqual(64 * 1024 + 2 * 16 * 1024);
    const withLength = mediaServer(big, { contentLength: true });
    await expect(
      downloadMedia(withLength.source, { mxc: 'mxc://hs.test/a', name: 'x', maxBytes: 1024 }),
    ).rejects.toMatchObject({ problem: 'TooLarge' });
    // Refused on its Content-Length: nothing read but the chunk the stream itself reads ahead.
    expect(withLength.sent()).toBeLessThanOrEqual(1024);
  });
  it('refuses an address that is not an mxc URI', async () => {
    const m = mediaServer(big);
    await expect(downloadMedia(m.source, { mxc: 'https://evil/x', name: 'x', maxBytes: 10 })).rejects.toMatchObject({
      problem: 'DownloadFailed',
    });
    expect(m.calls).toHaveLength(0);
  });
});

describe('documents cut to the prompt budget', () => {
  const count = (t: string) => Math.ceil(t.length / 4);
  it('cuts at a word end within the budget', async () => {
    const text = Array.from({ length: 500 }, (_, i) => `word${i}`).join(' ');
    const cut = await cutToTokens(text, 100, count);
    expect(count(cut)).toBeLessThanOrEqual(100);
    expect(cut.length).toBeGreaterThan(300);
    expect(text.startsWith(cut)).toBe(true);
    expect(text[cut.length]).toBe(' ');
  });
  it('says the cut in a note; whole documents get none', async () => {
    const ref = (name: string) => ({
      eventId: `$${name}`,
      sender: OWNER,
      kind: 'file' as const,
      name,
      mxc: 'mxc://a/b',
    });
    const found: FoundAttachments = {
      results: [
        { kind: 'document', ref: ref('short.txt'), format: 'text', text: 'short text' },
        { kind: 'document', ref: ref('long.pdf'), format: 'pdf', text: 'x '.repeat(5000) },
      ],
      problems: [],
      leftOut: 1,
    };
    const { text, notes } = await attachmentText(found, 400, count);
    expect(count(text)).toBeLessThanOrEqual(400);
    expect(text).toContain('[Attached text file "short.txt"]\nshort text\n[End of "short.txt"]');
    expect(text).toContain('[Attached PDF "long.pdf"]');
    expect(notes[0]).toMatch(
      /^long\.pdf was cut to fit my model's context: I read the first [\d,]+ of 10,000 characters/,
    );
    expect(notes[1]).toMatch(/I read 2 of the 3 attachments/);
  });
});
