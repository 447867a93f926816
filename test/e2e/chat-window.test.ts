// The chat window end to end in Debian Chromium against the real `agent-room serve` (test homeserver,
// real bot runner, node-llama-cpp on generated models): first run with a real download, a mention
// written through autocomplete, a reply seen streaming and completing, stop, a download and a model
// switch in the model manager, the calls in the audit panel. Screenshots go to test-results/e2e/. The
// cases run in order on one serve.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../support/cli.ts';
import {
  recentEvents,
  SLOW_FILE,
  SLOW_REPLY_TOKENS,
  startStack,
  TINY_FILE,
  type RoomEvent,
  type Stack,
} from '../support/e2e/stack.ts';

const shots = join(repoRoot, 'test-results', 'e2e');
const FINAL = 'org.agentroom.final';

let stack: Stack;
let browser: Browser;
let page: Page;
let roomId: string;
let botUserId: string;
const pageErrors: string[] = [];
const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
// Replies, not the bot's notices (its first-start welcome, command answers).
const botReplies = () => page.locator(`.chat-main article[data-sender="${botUserId}"]:not([data-msgtype="m.notice"])`);
const finalReplies = () => page.locator(`.chat-main article[data-sender="${botUserId}"][data-final="true"]`);

/** The event that marked the reply `replyId` complete (its final edit), once the runner sent it. */
async function finalEditOf(replyId: string): Promise<RoomEvent | undefined> {
  const events = await recentEvents(stack, roomId);
  return events.find(
    (e) =>
      e.content[FINAL] === true &&
      (e.event_id === replyId ||
        (e.content['m.relates_to'] as { event_id?: string } | undefined)?.event_id === replyId),
  );
}

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'renderer', 'index.html')))
    throw new Error('dist/ is missing: run `npm run build` first (npm run test:e2e does).');
  mkdirSync(shots, { recursive: true });
  [stack, browser] = await Promise.all([
    startStack(),
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
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (stack) console.log(`serve output (last 2000 chars):\n${stack.cli.output().slice(-2000)}`);
});

describe('chat window on agent-room serve', () => {
  it('first run: shows the probe, downloads a model through the first-run screen with a moving progress bar, then opens the team room', async () => {
    // The URL exactly as serve printed it: the token travels in the fragment.
    await page.goto(stack.chatUrl);
    await page.getByRole('heading', { name: 'Welcome to Agent Room' }).waitFor();
    expect(await page.getByTestId('plan-backend').textContent()).toBe('cpu, 1 thread');
    // The team the core made on first run waits for the plan's recommended model.
    const status = await stack.api('status.get');
    expect(status.firstRun?.modelsToDownload).toHaveLength(1);
    const waitingFor = status.firstRun!.modelsToDownload[0]!;
    await page.locator('.recommend .model-ref', { hasText: waitingFor }).waitFor();
    await page.getByRole('button', { name: 'Download and start' }).waitFor();
    await shot('first-run');

    // Nothing leaves this machine in tests: "another model" from the local download server, slowed down.
    stack.downloads.chunkDelayMs = 6;
    await page.getByLabel('Another model (hf:, URL or ollama:)').fill(stack.downloads.fileUrl(SLOW_FILE));
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const bar = page.getByRole('progressbar', { name: /Download of qwen-e2e-slow-f32/ });
    await expect
      .poll(async () => Number((await bar.getAttribute('aria-valuenow')) ?? 0), { timeout: 15_000 })
      .toBeGreaterThan(10);
    const before = Number(await bar.getAttribute('aria-valuenow'));
    await page.waitForTimeout(250); // the bar's width eases for 0.2 s
    await shot('first-run-download');
    await expect
      .poll(async () => Number((await bar.getAttribute('aria-valuenow', { timeout: 1000 }).catch(() => '100')) ?? 0), {
        timeout: 15_000,
      })
      .toBeGreaterThan(before);

    await page.getByRole('heading', { name: 'AI Team' }).waitFor({ timeout: 30_000 });
    const settings = await stack.api('settings.get');
    expect(settings.bots).toMatchObject([
      { id: 'qwen', displayName: 'Qwen', model: `llama:${join(stack.dataDir, 'models', SLOW_FILE)}` },
    ]);
    expect((await stack.api('status.get')).firstRun).toBeUndefined();
    // The token left the address bar.
    expect(page.url()).not.toContain('token=');
    await shot('team-room');

    const session = await stack.api('session.get');
    roomId = session.roomId;
    botUserId = (await stack.api('bots.list'))[0]!.userId!;
  });

  it('keeps working after a reload without the token in the address, and asks for it in a fresh tab', async () => {
    await page.reload();
    await page.getByRole('heading', { name: 'AI Team' }).waitFor({ timeout: 20_000 });
    const other = await browser.newPage();
    await other.goto(stack.origin);
    await other
      .getByRole('alert')
      .getByText(/needs its access token/)
      .waitFor();
    await other.close();
  });

  it('writes a mention through autocomplete: a pill and m.mentions as Element sends them', async () => {
    // Long enough to watch: a few seconds of tokens from the slow model.
    const current = await stack.api('settings.get');
    await stack.api('settings.update', { bots: current.bots.map((b) => ({ ...b, maxTokens: SLOW_REPLY_TOKENS })) });

    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.click();
    await page.keyboard.type('@Qw');
    await page.getByRole('option', { name: /Qwen/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.composer-input .pill', { hasText: 'Qwen' }).waitFor();
    await page.keyboard.type('explain quicksort');
    await page.keyboard.press('Enter');

    let sent: RoomEvent | undefined;
    const owner = (await stack.api('session.get')).userId;
    await expect
      .poll(
        async () =>
          (sent = (await recentEvents(stack, roomId)).find((e) => e.type === 'm.room.message' && e.sender === owner)),
        { timeout: 10_000 },
      )
      .toBeDefined();
    expect(sent!.content).toEqual({
      msgtype: 'm.text',
      body: 'Qwen: explain quicksort',
      format: 'org.matrix.custom.html',
      formatted_body: `<a href="https://matrix.to/#/${botUserId}">Qwen</a>: explain quicksort`,
      'm.mentions': { user_ids: [botUserId] },
    });
  });

  it("shows the real runner's reply streaming: its text grows in place, then completes with the final edit", async () => {
    const reply = botReplies().first();
    await reply.waitFor({ timeout: 30_000 });
    await page.getByText('Qwen is thinking…').waitFor();
    await page.getByRole('button', { name: "Stop the bot's reply" }).waitFor();
    const first = (await reply.locator('.msg-body').textContent()) ?? '';
    await page.waitForTimeout(1200);
    const second = (await reply.locator('.msg-body').textContent()) ?? '';
    await shot('reply-streaming');
    expect(await reply.getAttribute('data-final')).toBeNull();
    expect(second.length).toBeGreaterThan(first.length);

    await page
      .locator(`.chat-main article[data-sender="${botUserId}"][data-final="true"]`)
      .waitFor({ timeout: 60_000 });
    // The final edit ends the reply in the same render: no Stop button and no "thinking" while typing catches up.
    expect(await page.getByRole('button', { name: "Stop the bot's reply" }).count()).toBe(0);
    expect(await page.getByText('Qwen is thinking…').count()).toBe(0);
    const done = (await reply.locator('.msg-body').textContent()) ?? '';
    expect(done.length).toBeGreaterThan(second.length);
    const replyId = (await reply.getAttribute('data-event-id'))!;
    const final = await finalEditOf(replyId);
    expect(final).toBeDefined();
    expect((final!.content['m.new_content'] as { body: string }).body.length).toBeGreaterThanOrEqual(done.length / 2);
    await page.getByText('Qwen is thinking…').waitFor({ state: 'detached' });
    expect(await botReplies().count()).toBe(1);
    await shot('reply-complete');
  });

  it('stops a streaming reply with the stop button', async () => {
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.click();
    await page.keyboard.type('@Qw');
    await page.getByRole('option', { name: /Qwen/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.keyboard.type('a long story please');
    await page.keyboard.press('Enter');
    await expect.poll(() => botReplies().count(), { timeout: 30_000 }).toBe(2);
    const t0 = Date.now();
    await page.getByRole('button', { name: "Stop the bot's reply" }).click();
    const second = botReplies().nth(1);
    await page.getByText('Stopped 1 answer.').waitFor({ timeout: 10_000 });
    await page.getByText('Qwen is thinking…').waitFor({ state: 'detached', timeout: 10_000 });
    // Stopped well before the slow model's reply would have ended (several seconds).
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect.poll(() => second.getAttribute('data-final'), { timeout: 10_000 }).toBe('true');
    const stopped = (await second.locator('.msg-body').textContent()) ?? '';
    const full = (await botReplies().first().locator('.msg-body').textContent()) ?? '';
    expect(stopped.length).toBeLessThan(full.length);
  });

  it('downloads a second model in the model manager with a moving progress bar, then switches the bot to it', async () => {
    stack.downloads.chunkDelayMs = 250;
    await page.getByRole('button', { name: 'Models' }).click();
    await page.getByRole('heading', { name: 'Downloaded' }).waitFor();
    await page.getByLabel('Download or pull a model').fill(`llama:${stack.downloads.fileUrl(TINY_FILE)}`);
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const bar = page.getByRole('progressbar', { name: new RegExp(TINY_FILE) });
    await expect
      .poll(async () => Number((await bar.getAttribute('aria-valuenow')) ?? 0), { timeout: 10_000 })
      .toBeGreaterThan(0);
    const before = Number(await bar.getAttribute('aria-valuenow'));
    await page.waitForTimeout(220); // the bar's width eases for 0.2 s
    await shot('models-download');
    await expect
      .poll(async () => Number((await bar.getAttribute('aria-valuenow', { timeout: 1000 }).catch(() => '100')) ?? 0), {
        timeout: 10_000,
      })
      .toBeGreaterThan(before);
    const tinyName = TINY_FILE.replace(/\.gguf$/, '');
    await page.getByText(tinyName, { exact: true }).waitFor({ timeout: 20_000 });

    await page.getByRole('button', { name: `Use ${tinyName} for the selected bot` }).click();
    await page.getByText(/Qwen now uses/).waitFor();
    const tinyRef = `llama:${join(stack.dataDir, 'models', TINY_FILE)}`;
    expect((await stack.api('settings.get')).bots[0]!.model).toBe(tinyRef);
    await shot('models-switched');

    // Back in the room: the badge names the new model, and the next reply comes from it.
    await page.getByRole('button', { name: /^AI Team/ }).click();
    await page.locator(`article[data-sender="${botUserId}"] .badge-model`, { hasText: tinyName }).first().waitFor();
    const finalsBefore = await finalReplies().count();
    const repliesBefore = (await stack.api('status.get')).bots[0]!.stats.replies;
    await page.getByRole('textbox', { name: 'Message' }).click();
    await page.keyboard.type('@Qw');
    await page.getByRole('option', { name: /Qwen/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.keyboard.type('and now?');
    await page.keyboard.press('Enter');
    await expect.poll(() => finalReplies().count(), { timeout: 30_000 }).toBe(finalsBefore + 1);
    const status = await stack.api('status.get');
    expect(status.bots[0]!.model).toBe(tinyRef);
    expect(status.bots[0]!.stats.replies).toBe(repliesBefore + 1);
    expect(status.inference.loadedModels).toContain(tinyRef);
  });

  it('opens a thread on a reply and answers in it', async () => {
    const replyArticle = botReplies().first();
    await replyArticle.hover();
    await replyArticle.getByRole('button', { name: "Open thread of Qwen's message" }).click();
    const thread = page.getByRole('complementary', { name: 'Thread' });
    await thread.getByRole('textbox', { name: 'Reply in thread' }).click();
    await page.keyboard.type('thanks, *very* clear');
    await page.keyboard.press('Enter');
    await thread.locator('article em', { hasText: 'very' }).waitFor();
    // A reply to a bot's message addresses that bot: it answers in the thread.
    await thread.locator(`article[data-sender="${botUserId}"][data-final="true"]`).nth(1).waitFor({ timeout: 30_000 });
    await page
      .locator('.chat-main')
      .getByRole('button', { name: /Open thread of Qwen's message, 2 replies/ })
      .waitFor();
    await page.getByText('Qwen is thinking…').waitFor({ state: 'detached' });
    await shot('thread');
    await thread.getByRole('button', { name: 'Close thread' }).click();
  });

  it("shows the status panel with the bot's model and replies, and the settings panel, where a task is added", async () => {
    await page.getByRole('button', { name: 'Status' }).click();
    await page.getByRole('heading', { name: 'Status' }).waitFor();
    const { replies } = (await stack.api('status.get')).bots[0]!.stats;
    const row = page.getByRole('row', { name: /^Qwen/ });
    await expect
      .poll(async () => (await row.getByRole('cell').nth(5).textContent())?.trim(), { timeout: 10_000 })
      .toBe(String(replies));
    expect(await row.getByRole('cell').nth(1).textContent()).toBe(TINY_FILE.replace(/\.gguf$/, ''));
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('idle');
    await page.getByText('qwen-e2e-slow-f32', { exact: true }).waitFor();
    await shot('status');
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Allow devices on my network (LAN access)').waitFor();
    await shot('settings');
    // A task made in the window is saved through settings.update and stored as the shared schema has it.
    const model = (await stack.api('settings.get')).bots[0]!.model;
    await page.getByRole('button', { name: 'Add a task' }).click();
    await page.getByRole('group', { name: 'New task' }).getByLabel('Name', { exact: true }).fill('Quick');
    // The legend follows the name.
    const task = page.getByRole('group', { name: 'Quick' });
    await task.getByLabel('Model 1', { exact: true }).fill(model);
    await page.getByRole('button', { name: 'Save tasks' }).click();
    await page.getByText(/^Not saved: These settings are not valid/).waitFor();
    await page
      .getByRole('group', { name: 'Quick' })
      .getByText(/use lower-case letters/)
      .waitFor();
    await page.getByRole('group', { name: 'Quick' }).getByLabel('Name', { exact: true }).fill('quick');
    await page.getByRole('button', { name: 'Save tasks' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await stack.api('settings.get')).tasks).toEqual([{ name: 'quick', models: [model] }]);
    await page.getByRole('heading', { name: 'Tasks' }).scrollIntoViewIfNeeded();
    await shot('settings-tasks');
    await page.getByRole('button', { name: /^AI Team/ }).click();
  });

  it("lists the bot's model calls in the audit panel, the newest first, and filters them", async () => {
    const recorded = await stack.api('audit.list', { bot: 'qwen' });
    // The replies above: quicksort, the stopped story, "and now?" and the thread's answer.
    expect(recorded.filter((c) => c.outcome === 'ok').length).toBeGreaterThanOrEqual(3);
    const aborted = recorded.filter((c) => c.outcome === 'aborted');
    expect(aborted.length).toBeGreaterThanOrEqual(1);
    await page.getByRole('button', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    const table = page.getByRole('table', { name: 'Model calls' });
    const rows = table.locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(recorded.length);
    const newest = recorded.at(-1)!;
    expect(await rows.first().getAttribute('data-call-id')).toBe(String(newest.id));
    const cells = await rows.first().getByRole('cell').allTextContents();
    expect(cells.slice(1)).toEqual([
      'Qwen',
      '—',
      TINY_FILE.replace(/\.gguf$/, ''),
      'local',
      '—',
      `${newest.promptTokens} → ${newest.completionTokens}`,
      expect.stringMatching(/^\d+(\.\d)? m?s$/),
      '—',
      'ok',
      newest.reason,
    ]);
    await shot('audit');
    await page.getByLabel('Filter').fill('aborted');
    await expect
      .poll(async () => (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-call-id')))).sort())
      .toEqual(aborted.map((c) => String(c.id)).sort());
    await page.getByRole('button', { name: /^AI Team/ }).click();
  });

  it('follows the dark theme of the system, with no page errors along the way', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(23, 25, 29)');
    await shot('chat-dark');
    expect(pageErrors).toEqual([]);
  });
});
