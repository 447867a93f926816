// Images from the chat window, end to end in Debian Chromium against the real `agent-room serve` with an encrypted
// team room and a bot on a vision model (the recording Ollama test server, which echoes the question): an image
// attached by the button and one pasted, each previewed before it goes, uploaded encrypted with the caption
// mentioning the bot, shown in the timeline (decrypted in the page), answered by the bot with the image beside its
// quote; the model received the image's pixels, and the homeserver held ciphertext only.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../support/cli.ts';
import { recentEvents, startStack, type Stack } from '../support/e2e/stack.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';

const shots = join(repoRoot, 'test-results', 'e2e');
let stack: Stack;
let ollama: OllamaTestServer;
let browser: Browser;
let page: Page;
let roomId: string;
let botUserId: string;
const pageErrors: string[] = [];
const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });

/** A PNG with transparency (it stays lossless on its way to the model, so its pixels can be compared exactly). */
const png = (r: number, g: number, b: number) =>
  sharp({ create: { width: 96, height: 64, channels: 4, background: { r, g, b, alpha: 0.9 } } })
    .png()
    .toBuffer();

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'renderer', 'index.html')))
    throw new Error('dist/ is missing: run `npm run build` first (npm run test:e2e does).');
  mkdirSync(shots, { recursive: true });
  ollama = await OllamaTestServer.start({ models: [{ ...fakeModel('llava:7b'), vision: true }], tokenDelayMs: 20 });
  [stack, browser] = await Promise.all([
    startStack({
      settings: ({ suffix }) => ({
        version: 1,
        inference: { threads: 1 },
        room: { encrypted: true },
        endpoints: { ollama: [{ id: 'local', url: ollama.url }] },
        bots: [{ id: `pixel${suffix}`, displayName: 'Pixel', model: 'ollama:llava:7b', maxTokens: 200 }],
      }),
      downloadFiles: () => ({}),
    }),
    chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-sync'],
    }),
  ]);
  page = await browser.newPage({ viewport: { width: 1200, height: 800 }, colorScheme: 'light' });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  roomId = (await stack.api('session.get')).roomId;
  botUserId = (await stack.api('bots.list'))[0]!.userId!;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await ollama?.close();
});

/** Types "@Pi", picks Pixel from the suggestions, then the rest of the caption, and sends. */
async function captionAndSend(text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).click();
  await page.keyboard.type('@Pi');
  await page.getByRole('option', { name: /Pixel/ }).waitFor();
  await page.keyboard.press('Enter');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

/** The owner's image message with this caption, its picture decrypted and drawn; then Pixel's final answer to it. */
async function sentAndAnswered(caption: string, image: Buffer): Promise<void> {
  const mine = page
    .locator('.chat-main article', { hasText: caption })
    .filter({ has: page.getByTestId('attachment-image') });
  await mine.getByTestId('attachment-image').waitFor({ timeout: 30_000 });
  await expect
    .poll(() => mine.getByTestId('attachment-image').evaluate((img) => (img as HTMLImageElement).naturalWidth))
    .toBe(96);
  const answer = page.locator(`.chat-main article[data-sender="${botUserId}"][data-final="true"]`, {
    hasText: caption,
  });
  await answer.waitFor({ timeout: 30_000 });
  // The answer shows the image it answered beside its quote.
  await expect
    .poll(() => answer.locator('.quote-image').evaluate((img) => (img as HTMLImageElement).naturalWidth))
    .toBe(96);
  // The model got this image's pixels.
  const sent = ollama
    .requestsTo('/api/chat')
    .map((r) => (r.body?.messages as Array<{ images?: string[]; content?: string }>).at(-1)!)
    .find((m) => m.content?.includes(caption));
  expect(sent?.images).toHaveLength(1);
  const [a, b] = await Promise.all([
    sharp(Buffer.from(sent!.images![0]!, 'base64')).raw().toBuffer(),
    sharp(image).raw().toBuffer(),
  ]);
  expect(a.equals(b)).toBe(true);
}

describe('images from the chat window, in an encrypted room', () => {
  it('opens the encrypted room with this device cross-signed', async () => {
    await page.goto(stack.chatUrl);
    await page.getByRole('heading', { name: 'AI Team' }).waitFor({ timeout: 30_000 });
    const card = page.getByRole('region', { name: 'Recovery key' });
    await card.getByRole('button', { name: 'I saved it' }).click({ timeout: 20_000 });
    await expect
      .poll(() => page.getByTestId('room-encrypted').getAttribute('title'), { timeout: 20_000 })
      .toMatch(/cross-signed/);
  });

  it('attaches an image by the button: preview, upload, the bot answers about it', async () => {
    const image = await png(220, 30, 30);
    await page.getByTestId('attach-input').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: image });
    await page.getByRole('img', { name: 'Preview of red.png' }).waitFor();
    await shot('attachments-preview');
    await captionAndSend(' what colour is this?');
    await page.getByTestId('attachment-draft').waitFor({ state: 'detached', timeout: 30_000 });
    await sentAndAnswered('what colour is this?', image);
    await shot('attachments-answered');
  });

  it('pastes an image: preview, upload, the bot answers about it', async () => {
    const image = await png(30, 30, 220);
    await page.getByRole('textbox', { name: 'Message' }).click();
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      const editor = document.querySelector('[aria-label="Message"]')!;
      editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, image.toString('base64'));
    await page.getByRole('img', { name: 'Preview of image.png' }).waitFor();
    await captionAndSend(' and this one?');
    await sentAndAnswered('and this one?', image);
  });

  it('the homeserver held ciphertext only: the events and the files', async () => {
    const events = await recentEvents(stack, roomId, 100);
    expect(events.filter((e) => e.type === 'm.room.message')).toEqual([]);
    expect(events.filter((e) => e.type === 'm.room.encrypted').length).toBeGreaterThan(4);
    expect(pageErrors).toEqual([]);
  });
});
