// Images and documents in a room, end to end: the real bot runner on the test homeserver (or a real one through
// AGENT_ROOM_TEST_HOMESERVER_URL), bots on the recording Ollama and OpenAI-compatible test servers, which echo the
// person's message. An image reaches a vision model as the right pixels in the right field, scaled down and without
// its metadata; a bot whose model cannot see says so in one line; a PDF's text is answered from; a thread brings its
// attachments since the bot's last answer; a document is a pipeline's input; extracted text is checked for sensitive data.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { say, waitFor } from '../support/bots-harness.ts';
import {
  attachmentContent,
  outcomeOf,
  startAttachmentsTeam,
  type AttachmentsTeam,
} from '../support/attachments-team.ts';
import { docx, pdf, solidImage } from '../support/documents.ts';

let t: AttachmentsTeam;

beforeAll(async () => {
  t = await startAttachmentsTeam();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const mentions = (bot: 'pixel' | 'echo' | 'lens') => ({ 'm.mentions': { user_ids: [t.userId(bot)] } });
const replyTo = (id: string) => ({ 'm.relates_to': { 'm.in_reply_to': { event_id: id } } });
const inThread = (root: string) => ({ 'm.relates_to': { rel_type: 'm.thread', event_id: root } });

async function answer(id: string, bot: 'pixel' | 'echo' | 'lens'): Promise<string> {
  const got = await waitFor(`${bot}'s finished reply`, () =>
    outcomeOf(t.team.seen, id, t.userId(bot)).replies.find((r) => r.final),
  );
  return got.text;
}
async function notice(id: string, bot: 'pixel' | 'echo' | 'lens'): Promise<string> {
  return waitFor(`${bot}'s notice`, () => outcomeOf(t.team.seen, id, t.userId(bot)).notices[0]);
}
const chats = (model: string) => t.ollama.requestsTo('/api/chat').filter((r) => r.body?.model === model);
const lastUser = (body: Record<string, unknown> | undefined) =>
  (body?.messages as Array<{ role: string; content: unknown; images?: string[] }>)
    .filter((m) => m.role === 'user')
    .at(-1)!;

describe('images', () => {
  it("an image with a caption reaches Pixel's Ollama vision model: its pixels in `images`, scaled down, no metadata", async () => {
    const photo = await solidImage(1600, 1000, 'jpeg', true);
    const before = chats('llava:7b').length;
    const id = await say(t.team, {
      ...(await attachmentContent(t.team.owner, photo, {
        kind: 'image',
        filename: 'holiday.jpg',
        mimetype: 'image/jpeg',
        caption: '@pixel what is in this picture?',
      })),
      ...mentions('pixel'),
    });
    expect(await answer(id, 'pixel')).toMatch(/what is in this picture\?/);
    const req = chats('llava:7b').slice(before);
    expect(req).toHaveLength(1);
    const msg = lastUser(req[0]!.body);
    expect(msg.content).toContain('[Attached image "holiday.jpg"');
    expect(msg.images).toHaveLength(1);
    const got = Buffer.from(msg.images![0]!, 'base64');
    const meta = await sharp(got).metadata();
    expect([meta.format, meta.width, meta.height, meta.exif, meta.xmp]).toEqual([
      'jpeg',
      800,
      500,
      undefined,
      undefined,
    ]);
    expect(got.includes('secret-owner-copyright')).toBe(false);
    const { channels } = await sharp(got).stats();
    [30, 120, 200].forEach((v, i) => expect(Math.abs(channels[i]!.mean - v)).toBeLessThanOrEqual(3));
    // Downloaded through the authenticated media API.
    expect(t.media.some((u) => u.includes('/_matrix/client/v1/media/download/'))).toBe(true);
  });

  it('a PNG reaches the OpenAI-compatible vision model as an image_url data URL with the same pixels', async () => {
    const png = await sharp({
      create: { width: 64, height: 48, channels: 4, background: { r: 250, g: 20, b: 90, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    const before = t.openai.chatRequests().length;
    const img = await say(
      t.team,
      await attachmentContent(t.team.owner, png, { kind: 'image', filename: 'dot.png', mimetype: 'image/png' }),
    );
    const id = await say(t.team, {
      msgtype: 'm.text',
      body: '@lens describe it',
      ...mentions('lens'),
      ...replyTo(img),
    });
    await answer(id, 'lens');
    const body = t.openai.chatRequests().slice(before)[0]!.body!;
    const content = (body.messages as Array<{ content: unknown }>).at(-1)!.content as Array<Record<string, unknown>>;
    expect(content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('@lens describe it') });
    const url = (content[1]!.image_url as { url: string }).url;
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    const sent = Buffer.from(url.slice('data:image/png;base64,'.length), 'base64');
    const [a, b] = await Promise.all([sharp(sent).raw().toBuffer(), sharp(png).raw().toBuffer()]);
    expect(a.equals(b)).toBe(true);
  });

  it('a bot whose model cannot see answers in one line naming a model that can, and asks no model', async () => {
    const photo = await solidImage(200, 100, 'png');
    const before = t.ollama.requestsTo('/api/chat').length;
    const img = await say(
      t.team,
      await attachmentContent(t.team.owner, photo, { kind: 'image', filename: 'cat.png', mimetype: 'image/png' }),
    );
    const id = await say(t.team, {
      msgtype: 'm.text',
      body: '@echo what is this?',
      ...mentions('echo'),
      ...replyTo(img),
    });
    expect(await notice(id, 'echo')).toBe(
      "Echo's model (ollama:qwen2.5:0.5b) cannot see images; ask Pixel (ollama:llava:7b), whose model can.",
    );
    expect(t.ollama.requestsTo('/api/chat').length).toBe(before);
    expect(outcomeOf(t.team.seen, id, t.userId('echo')).replies).toHaveLength(0);
  });

  it("a thread brings its images since the bot's last answer there", async () => {
    const root = await say(t.team, { msgtype: 'm.text', body: 'Photos from the trip' });
    const image = async (name: string, w: number) =>
      say(t.team, {
        ...(await attachmentContent(t.team.owner, await solidImage(w, 40, 'png'), {
          kind: 'image',
          filename: name,
          mimetype: 'image/png',
        })),
        ...inThread(root),
      });
    await image('one.png', 40);
    await image('two.png', 50);
    const first = await say(t.team, {
      msgtype: 'm.text',
      body: '@pixel compare them',
      ...mentions('pixel'),
      ...inThread(root),
    });
    await answer(first, 'pixel');
    const a = lastUser(chats('llava:7b').at(-1)!.body);
    expect(a.images).toHaveLength(2);
    expect(a.content).toMatch(/"one\.png"[\s\S]*"two\.png"/);
    await image('three.png', 60);
    const second = await say(t.team, {
      msgtype: 'm.text',
      body: '@pixel and this one?',
      ...mentions('pixel'),
      ...inThread(root),
    });
    await answer(second, 'pixel');
    const b = lastUser(chats('llava:7b').at(-1)!.body);
    expect(b.images).toHaveLength(1);
    expect((await sharp(Buffer.from(b.images![0]!, 'base64')).metadata()).width).toBe(60);
  });
});

describe('documents', () => {
  it('a PDF with a text layer is answered from its text (a reply to it, and its own caption)', async () => {
    const invoice = await pdf([['Invoice 4711', 'Total: 99.50 EUR'], ['Thank you']]);
    const file = await say(
      t.team,
      await attachmentContent(t.team.owner, invoice, {
        kind: 'file',
        filename: 'invoice.pdf',
        mimetype: 'application/pdf',
      }),
    );
    const id = await say(t.team, {
      msgtype: 'm.text',
      body: '@echo what is the total?',
      ...mentions('echo'),
      ...replyTo(file),
    });
    const text = await answer(id, 'echo');
    expect(text).toContain('Invoice 4711');
    expect(text).toContain('Total: 99.50 EUR');
    const captioned = await say(t.team, {
      ...(await attachmentContent(t.team.owner, invoice, {
        kind: 'file',
        filename: 'invoice-2.pdf',
        mimetype: 'application/pdf',
        caption: '@echo summarise this',
      })),
      ...mentions('echo'),
    });
    expect(await answer(captioned, 'echo')).toMatch(/summarise this[\s\S]*Invoice 4711/);
  });

  it('a Word document and a web page become text', async () => {
    const id = await say(t.team, {
      ...(await attachmentContent(t.team.owner, docx(['Meeting notes', 'Decision: ship on Friday']), {
        kind: 'file',
        filename: 'notes.docx',
        mimetype: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        caption: '@echo what was decided?',
      })),
      ...mentions('echo'),
    });
    expect(await answer(id, 'echo')).toContain('Decision: ship on Friday');
    const html = new TextEncoder().encode(
      '<html><body><h1>Menu</h1><script>steal()</script><p>Soup of the day</p></body></html>',
    );
    const page = await say(t.team, {
      ...(await attachmentContent(t.team.owner, html, {
        kind: 'file',
        filename: 'menu.html',
        mimetype: 'text/html',
        caption: '@echo what is on the menu?',
      })),
      ...mentions('echo'),
    });
    const text = await answer(page, 'echo');
    expect(text).toContain('Soup of the day');
    expect(text).not.toContain('steal');
  });

  it('a long document is cut to the prompt budget, and the answer says so', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => `Line ${i}: ${'lorem ipsum dolor sit amet '.repeat(3)}`);
    const id = await say(t.team, {
      ...(await attachmentContent(t.team.owner, new TextEncoder().encode(lines.join('\n')), {
        kind: 'file',
        filename: 'long.txt',
        mimetype: 'text/plain',
        caption: '@echo read this',
      })),
      ...mentions('echo'),
    });
    const text = await answer(id, 'echo');
    expect(text).toContain('Line 0:');
    expect(text).not.toContain('Line 399:');
    expect(text).toMatch(/long\.txt was cut to fit my model's context: I read the first [\d,]+ of [\d,]+ characters/);
  });

  it('a document is the input of `!run` as a reply to it', async () => {
    t.team.settings.pipelines = [
      {
        name: 'extract-invoice',
        stages: [{ name: 'extract', model: 'ollama:qwen2.5:0.5b', prompt: 'Find the total in: {{input}}' }],
      },
    ];
    const file = await say(
      t.team,
      await attachmentContent(t.team.owner, await pdf([['Invoice 815', 'Total: 12.00 EUR']]), {
        kind: 'file',
        filename: 'inv.pdf',
        mimetype: 'application/pdf',
      }),
    );
    const before = chats('qwen2.5:0.5b').length;
    const id = await say(t.team, { msgtype: 'm.text', body: '!run extract-invoice', ...replyTo(file) });
    await waitFor('the pipeline to ask its model', () => chats('qwen2.5:0.5b').length > before);
    const sent = lastUser(chats('qwen2.5:0.5b').at(-1)!.body).content as string;
    expect(sent).toMatch(/Find the total in:[\s\S]*Invoice 815[\s\S]*Total: 12\.00 EUR/);
    await waitFor('the pipeline answer', () =>
      t.team.seen.some(
        (e) =>
          (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']
            ?.event_id === id,
      ),
    );
  });

  it("a document's text goes through the sensitivity check as typed text does", async () => {
    const id = await say(t.team, {
      ...(await attachmentContent(t.team.owner, await pdf([['Card: 4111 1111 1111 1111']]), {
        kind: 'file',
        filename: 'card.pdf',
        mimetype: 'application/pdf',
        caption: '@echo is this valid?',
      })),
      ...mentions('echo'),
    });
    await answer(id, 'echo');
    expect(t.router.recentDecisions().find((d) => d.eventId === id)?.sensitive).toContain('card');
  });
});
