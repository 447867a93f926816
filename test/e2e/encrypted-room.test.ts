// The chat window in an encrypted team room, end to end in Debian Chromium against the real `agent-room serve`
// (test homeserver with keys, to-device and key backup; the real bot runner with Rust crypto; node-llama-cpp on a
// generated model): the recovery key shown once, this device cross-signed, a mention sent encrypted, the bot's
// encrypted reply shown decrypted while it streams, and the history still readable after a reload on the same device,
// with the bot shown verified (the app signed its identity with the owner's keys).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../support/cli.ts';
import { generateModel, recentEvents, SLOW_FILE, SLOW_PRESET, startStack, type Stack } from '../support/e2e/stack.ts';

const shots = join(repoRoot, 'test-results', 'e2e');
/** About 3 s of streaming from the slow model on one thread: long enough to see the reply grow. */
const REPLY_TOKENS = 600;

let stack: Stack;
let browser: Browser;
let page: Page;
let roomId: string;
let owner: string;
let botUserId: string;
let replyText = '';
const pageErrors: string[] = [];
const started = Date.now();
const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
const botReply = () =>
  page
    .locator(`.chat-main article[data-sender="${botUserId}"]`, { hasNot: page.locator('.msg-utd') })
    .filter({ hasNotText: "Hi, I'm Qwen" });
const ownerMessage = () => page.locator(`.chat-main article[data-sender="${owner}"]`);

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'renderer', 'index.html')))
    throw new Error('dist/ is missing: run `npm run build` first (npm run test:e2e does).');
  mkdirSync(shots, { recursive: true });
  [stack, browser] = await Promise.all([
    startStack({
      settings: ({ dataDir, suffix }) => {
        const model = generateModel(join(dataDir, 'models'), SLOW_FILE, SLOW_PRESET, 7);
        return {
          version: 1,
          inference: { threads: 1 },
          room: { encrypted: true },
          bots: [{ id: `qwen${suffix}`, displayName: 'Qwen', model: `llama:${model}`, maxTokens: REPLY_TOKENS }],
        };
      },
      downloadFiles: () => ({}),
    }),
    chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    }),
  ]);
  page = await browser.newPage({ viewport: { width: 1200, height: 780 }, colorScheme: 'light' });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // E2E_DEBUG=1 shows the SDK's crypto log (cross-signing, secret storage, backup, decryption failures).
  page.on('console', (m) => {
    if (process.env.E2E_DEBUG && /cross|bootstrap|secret|backup|decrypt|error|warn/i.test(m.text()))
      console.log('[page]', m.type(), m.text().slice(0, 400));
  });
  const session = await stack.api('session.get');
  roomId = session.roomId;
  owner = session.userId;
  botUserId = (await stack.api('bots.list'))[0]!.userId!;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  console.log(`encrypted-room e2e: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  if (stack && pageErrors.length > 0)
    console.log(`serve output (last 2000 chars):\n${stack.cli.output().slice(-2000)}`);
});

describe('chat window in an encrypted team room', () => {
  it('opens the room with a lock, shows the recovery key once, and cross-signs its own device', async () => {
    await page.goto(stack.chatUrl);
    await page.getByRole('heading', { name: 'AI Team' }).waitFor({ timeout: 30_000 });
    const recovery = await stack.api('session.recoveryKey');
    expect(recovery.created).toBe(true);
    const card = page.getByRole('region', { name: 'Recovery key' });
    await card.getByRole('heading', { name: 'Save your recovery key' }).waitFor();
    expect(await card.getByTestId('recovery-key').textContent()).toBe(recovery.recoveryKey);

    const lock = page.getByTestId('room-encrypted');
    await lock.waitFor();
    // The window opened secret storage with the recovery key and signed this device with the owner's keys.
    await expect
      .poll(() => lock.getAttribute('title'), { timeout: 20_000 })
      .toMatch(/verified device of yours \(cross-signed\)/);
    await shot('encrypted-room-recovery-key');
    await card.getByRole('button', { name: 'I saved it' }).click();
    await card.waitFor({ state: 'detached' });
  });

  it("sends a mention encrypted and shows the bot's encrypted reply decrypted while it streams, then final", async () => {
    await page.getByRole('textbox', { name: 'Message' }).click();
    await page.keyboard.type('@Qw');
    await page.getByRole('option', { name: /Qwen/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.keyboard.type('explain quicksort');
    await page.keyboard.press('Enter');
    await ownerMessage().filter({ hasText: 'explain quicksort' }).waitFor();

    // What the homeserver holds for the conversation: ciphertext only.
    await expect
      .poll(
        async () =>
          (await recentEvents(stack, roomId)).some((e) => e.sender === owner && e.type === 'm.room.encrypted'),
        { timeout: 10_000 },
      )
      .toBe(true);

    // The reply grows in place: sample it until the final edit lands.
    const reply = botReply().first();
    await reply.waitFor({ timeout: 30_000 });
    const seen: number[] = [];
    const deadline = Date.now() + 45_000;
    while ((await reply.getAttribute('data-final')) !== 'true' && Date.now() < deadline) {
      const len = ((await reply.locator('.msg-body').textContent()) ?? '').length;
      if (seen.at(-1) !== len) seen.push(len);
      if (seen.length === 2) await shot('encrypted-room-streaming');
      await page.waitForTimeout(150);
    }
    expect(await reply.getAttribute('data-final')).toBe('true');
    replyText = (await reply.locator('.msg-body').textContent()) ?? '';
    // Seen growing while it streamed (the final edit renders Markdown, so its text may be a little shorter).
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen[1]!).toBeGreaterThan(seen[0]!);
    expect(replyText.length).toBeGreaterThan(seen[0]!);
    expect(await botReply().count()).toBe(1);

    const events = await recentEvents(stack, roomId, 100);
    const fromBot = events.filter((e) => e.sender === botUserId && e.type === 'm.room.encrypted');
    // The first chunk and its edits (at least the final one), all encrypted; nothing in clear in the room.
    expect(fromBot.length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.type === 'm.room.message')).toEqual([]);
    for (const e of fromBot)
      expect(e.content).toMatchObject({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: expect.any(String) });
  });

  it('keeps the device and reads the history after a reload', async () => {
    const devicesBefore = (await stack.matrix<{ devices: { device_id: string }[] }>('/devices')).devices
      .map((d) => d.device_id)
      .sort();
    await page.reload();
    await page.getByRole('heading', { name: 'AI Team' }).waitFor({ timeout: 30_000 });
    await ownerMessage().filter({ hasText: 'explain quicksort' }).waitFor({ timeout: 20_000 });
    const reply = botReply().first();
    await reply
      .locator('.msg-body')
      .filter({ hasText: replyText.slice(0, 40) })
      .waitFor({ timeout: 20_000 });
    // Edits decrypt one by one after the reload: the final one may land a moment after an earlier one shows.
    await expect
      .poll(async () => (await reply.locator('.msg-body').textContent()) ?? '', { timeout: 20_000 })
      .toBe(replyText);
    expect(await reply.getAttribute('data-final')).toBe('true');
    // The card was dismissed: it does not come back on reload.
    expect(await page.getByRole('region', { name: 'Recovery key' }).count()).toBe(0);
    await expect
      .poll(() => page.getByTestId('room-encrypted').getAttribute('title'), { timeout: 20_000 })
      .toMatch(/cross-signed/);
    // The app vouched for its bot with the owner's keys: this window (a cross-signed owner device) trusts it.
    await expect.poll(() => reply.getByTestId('sender-verified').count(), { timeout: 20_000 }).toBe(1);
    const devicesAfter = (await stack.matrix<{ devices: { device_id: string }[] }>('/devices')).devices
      .map((d) => d.device_id)
      .sort();
    expect(devicesAfter).toEqual(devicesBefore);
    expect(devicesAfter).toContain((await stack.api('session.get')).deviceId);
    await shot('encrypted-room');
    // Settings say the app holds the recovery key (over the control API: session.encryption).
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByText(/Agent Room holds your recovery key/).waitFor({ timeout: 10_000 });
    expect(await page.getByLabel('Recovery key').count()).toBe(0);
    await shot('encrypted-room-settings');
    expect(pageErrors).toEqual([]);
  });
});
