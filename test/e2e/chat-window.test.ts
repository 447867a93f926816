// The chat window end to end in Debian Chromium: first run with a one-click download, a mention written
// through autocomplete, a reply seen streaming in place, a download's progress bar in the model manager,
// and a bot's model switched. Screenshots go to test-results/e2e/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RECOMMENDED_FILE, SECOND_FILE, startHarness, type Harness } from './harness/control-harness.ts';

const root = join(import.meta.dirname, '..', '..');
const staticDir = join(root, 'dist', 'renderer');
const shots = join(root, 'test-results', 'e2e');
const CHUNKS = [
  'Quicksort ', 'picks a **pivot**, ', 'moves the smaller items ', 'to its left and the larger ', 'ones to its right, ', 'then sorts both sides ', 'the same way.\n\n',
  '```python\n', 'def quicksort(xs):\n', '    if len(xs) < 2:\n        return xs\n', '    p, *rest = xs\n', '    return quicksort([x for x in rest if x < p]) + [p] + quicksort([x for x in rest if x >= p])\n', '```',
];

let harness: Harness;
let browser: Browser;
let page: Page;
const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });

beforeAll(async () => {
  if (!existsSync(join(staticDir, 'index.html'))) throw new Error('dist/renderer is missing: run `npm run build` first (npm run test:e2e does).');
  mkdirSync(shots, { recursive: true });
  harness = await startHarness({ staticDir, reply: { chunks: CHUNKS, intervalMs: 350 } });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 780 }, colorScheme: 'light' });
  page.on('pageerror', (err) => console.error('page error:', err.message));
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

describe('chat window', () => {
  it('first run: shows the probe and the recommended model, downloads it in one click, then opens the team room', async () => {
    await page.goto(harness.url);
    await page.getByRole('heading', { name: 'Welcome to Agent Room' }).waitFor();
    await page.getByText('No GPU was found').waitFor();
    expect(await page.getByTestId('plan-backend').textContent()).toContain('cpu');
    await shot('first-run');
    await page.getByRole('button', { name: 'Download and start' }).click();
    await page.getByRole('heading', { name: 'AI Team' }).waitFor({ timeout: 20_000 });
    expect(harness.state.settings.bots).toMatchObject([{ id: 'qwen', displayName: 'Qwen', model: expect.stringContaining(RECOMMENDED_FILE) }]);
    expect([...harness.state.jobs.values()].map((j) => j.state)).toEqual(['done']);
    // The token left the address bar.
    expect(page.url()).not.toContain('token=');
  });

  it('writes a mention through autocomplete: a pill and m.mentions as Element sends them', async () => {
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.click();
    await page.keyboard.type('@Qw');
    await page.getByRole('option', { name: /Qwen/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.composer-input .pill', { hasText: 'Qwen' }).waitFor();
    await page.keyboard.type('explain quicksort');
    await page.keyboard.press('Enter');
    await expect.poll(() => harness.streamingBot.mentionsSeen.length, { timeout: 10_000 }).toBe(1);
    expect(harness.streamingBot.mentionsSeen[0]).toEqual({
      msgtype: 'm.text',
      body: 'Qwen: explain quicksort',
      format: 'org.matrix.custom.html',
      formatted_body: `<a href="https://matrix.to/#/${harness.bot.userId}">Qwen</a>: explain quicksort`,
      'm.mentions': { user_ids: [harness.bot.userId] },
    });
  });

  it('shows the reply streaming: its text grows in place, then completes with highlighted code', async () => {
    const reply = page.locator(`article[data-sender="${harness.bot.userId}"] .msg-body`);
    await reply.first().waitFor({ timeout: 10_000 });
    await page.getByText('Qwen is thinking…').waitFor();
    await page.getByRole('button', { name: "Stop the bot's reply" }).waitFor();
    const first = (await reply.first().textContent()) ?? '';
    await page.waitForTimeout(900);
    const second = (await reply.first().textContent()) ?? '';
    await shot('reply-streaming');
    expect(second.length).toBeGreaterThan(first.length);
    expect(second.startsWith(first.trim())).toBe(true);
    await expect.poll(() => harness.streamingBot.replies, { timeout: 20_000 }).toBe(1);
    await page.locator(`article[data-sender="${harness.bot.userId}"] pre code.hljs`).waitFor();
    await expect.poll(async () => reply.first().textContent(), { timeout: 5_000 }).toContain('quicksort([x for x in rest if x >= p])');
    expect(await reply.count()).toBe(1);
    expect(await page.locator(`article[data-sender="${harness.bot.userId}"] .hljs-keyword`).first().textContent()).toBe('def');
    await page.getByText('Qwen is thinking…').waitFor({ state: 'detached' });
    await shot('reply-complete');
  });

  it('downloads a model in the model manager with a moving progress bar, then switches the bot to it', async () => {
    harness.downloads.chunkDelayMs = 60;
    await page.getByRole('button', { name: 'Models' }).click();
    await page.getByRole('heading', { name: 'Downloaded' }).waitFor();
    await page.getByLabel('Download or pull a model').fill(`llama:${harness.downloads.fileUrl(SECOND_FILE)}`);
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const bar = page.getByRole('progressbar', { name: new RegExp(SECOND_FILE) });
    await expect.poll(async () => Number((await bar.getAttribute('aria-valuenow')) ?? 0), { timeout: 10_000 }).toBeGreaterThan(0);
    const before = Number(await bar.getAttribute('aria-valuenow'));
    await shot('models-download');
    await expect.poll(async () => Number((await bar.getAttribute('aria-valuenow').catch(() => '100')) ?? 0), { timeout: 10_000 }).toBeGreaterThan(before);
    const secondName = SECOND_FILE.replace(/\.gguf$/, '');
    await page.getByText(secondName, { exact: true }).waitFor({ timeout: 20_000 });

    await page.getByRole('button', { name: `Use ${secondName} for the selected bot` }).click();
    await page.getByText(/Qwen now uses/).waitFor();
    expect(harness.state.settings.bots[0]!.model).toBe(`llama:${join(harness.state.modelsDir, SECOND_FILE)}`);
    await shot('models-switched');

    // Back in the room, the bot's messages carry the new model's badge.
    await page.getByRole('button', { name: /^AI Team/ }).click();
    await page.locator(`article[data-sender="${harness.bot.userId}"] .badge-model`, { hasText: secondName }).waitFor();
  });

  it('opens a thread on the reply and answers in it', async () => {
    const replyArticle = page.locator(`article[data-sender="${harness.bot.userId}"]`).first();
    await replyArticle.hover();
    await replyArticle.getByRole('button', { name: "Open thread of Qwen's message" }).click();
    const thread = page.getByRole('complementary', { name: 'Thread' });
    await thread.getByRole('textbox', { name: 'Reply in thread' }).click();
    await page.keyboard.type('thanks, *very* clear');
    await page.keyboard.press('Enter');
    await thread.locator('article em', { hasText: 'very' }).waitFor();
    await page.locator('.chat-main').getByRole('button', { name: /Open thread of Qwen's message, 1 reply/ }).waitFor();
    await shot('thread');
    await thread.getByRole('button', { name: 'Close thread' }).click();
  });

  it('shows the status and the settings panels (LAN access with a QR code)', async () => {
    await page.getByRole('button', { name: 'Status' }).click();
    await page.getByRole('heading', { name: 'Status' }).waitFor();
    await page.getByRole('cell', { name: '18.5' }).waitFor();
    await shot('status');
    await page.getByRole('button', { name: 'Settings' }).click();
    const lan = page.getByLabel('Allow devices on my network (LAN access)');
    await lan.click();
    await expect.poll(() => lan.isChecked()).toBe(true);
    await page.getByRole('img', { name: /QR code for http:\/\/192\.168\.1\.20:/ }).waitFor();
    expect(harness.state.settings.homeserver).toMatchObject({ mode: 'bundled', lanAccess: true });
    await shot('settings');
    await page.getByRole('button', { name: /^AI Team/ }).click();
  });

  it('follows the dark theme of the system', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(23, 25, 29)');
    await shot('chat-dark');
  });
});
