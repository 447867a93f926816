// Inference failures against a real serve: an endpoint that is down, a stream cut mid-way, a corrupt
// model file and a model over the pool's memory budget. Each mention gets, within 5 s, either an answer
// from the fallback or a finished reply that says what failed and what to do; serve keeps running.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomes } from '../support/faults/replies.ts';
import { closeStack, openStack, type Stack } from '../support/faults/scenarios.ts';
import { botSettings, health, makeDataDir, provision, waitForTimeline } from '../support/faults/stack.ts';
import { tinyModel } from '../support/models.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

/** A port nothing listens on: bound once, then closed. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function askAndTime(
  stack: Stack,
  botId: string,
  text: string,
): Promise<{ ms: number; text: string; final: boolean }> {
  const bot = provision(stack.serve.dataDir).bots.find((b) => b.id === botId)!;
  const t0 = Date.now();
  const id = await stack.owner.mention([bot.userId], text);
  const reply = await waitForTimeline(
    stack.owner,
    `${botId} to finish`,
    (ev) => outcomes(ev, [id], bot.userId)[0]!.replies.find((r) => r.final),
    15_000,
  );
  return { ms: Date.now() - t0, text: reply.text, final: reply.final };
}

const ERROR = /⚠️ The answer could not be completed: .+/;
let openai: OpenAITestServer;
const stacks: Stack[] = [];

beforeAll(async () => {
  openai = await OpenAITestServer.start({ models: ['gpt-test'], tokenDelayMs: 20 });
});
afterAll(async () => {
  for (const s of stacks) await closeStack(s);
  await openai?.close();
});

describe('inference failures', () => {
  it('endpoint down, stream cut, corrupt file: fallback or a clear notice within 5 s, serve still running', async () => {
    const tiny = `llama:${await tinyModel()}`;
    const corrupt = join(tmpdir(), `corrupt-${process.pid}.gguf`);
    writeFileSync(corrupt, readFileSync(await tinyModel()).subarray(0, 4096));
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const dir = makeDataDir(
      botSettings(
        [
          { id: 'tiny', model: tiny },
          { id: 'downfb', model: 'openai:dead/gpt-test', fallback: [tiny] },
          { id: 'down', model: 'ollama:llama3:latest' },
          { id: 'cut', model: 'openai:live/gpt-test' },
          { id: 'corrupt', model: `llama:${corrupt}` },
        ],
        {
          endpoints: {
            openai: [
              { id: 'dead', url: `${dead}/v1`, timeoutMs: 2000 },
              { id: 'live', url: openai.url },
            ],
            ollama: [{ id: 'local', url: dead }],
          },
        },
      ),
    );
    const stack = await openStack(dir);
    stacks.push(stack);
    await askAndTime(stack, 'tiny', 'warm up'); // loads the tiny model once, so the timings below are the faults'

    const fb = await askAndTime(stack, 'downfb', 'hello');
    expect(fb.ms).toBeLessThan(5000);
    expect(fb.text).not.toMatch(ERROR);
    expect(fb.text.length).toBeGreaterThan(0);

    const down = await askAndTime(stack, 'down', 'hello');
    expect(down.ms).toBeLessThan(5000);
    expect(down.text).toMatch(ERROR);
    expect(down.text).toMatch(/Ollama|127\.0\.0\.1|reach|running/i);

    openai.addFault({ kind: 'cut', afterChunks: 2 }, '/v1/chat/completions');
    const cut = await askAndTime(stack, 'cut', 'tell me more');
    expect(cut.ms).toBeLessThan(5000);
    expect(cut.final).toBe(true);

    const bad = await askAndTime(stack, 'corrupt', 'hello');
    expect(bad.ms).toBeLessThan(5000);
    expect(bad.text).toMatch(ERROR);
    expect(bad.text).toMatch(/damaged|GGUF|download it again/i);

    expect((await health(stack.serve))?.status).toMatch(/ok|degraded/);
    expect(stack.serve.cli.child.exitCode).toBeNull();
  });

  it('out of memory (a 3 MiB model under a 1 MiB pool budget): a notice naming the budget within 5 s, serve still running', async () => {
    // The pool checks its budget against the file's size before loading; the tiny model (0.55 MiB) would
    // fit the smallest budget the settings allow (1 MiB), so it is padded to 3 MiB.
    const big = join(tmpdir(), `big-${process.pid}.gguf`);
    writeFileSync(big, Buffer.concat([readFileSync(await tinyModel()), Buffer.alloc(3 * 1024 * 1024)]));
    const dir = makeDataDir(
      botSettings([{ id: 'tiny', model: `llama:${big}` }], { inference: { memoryBudgetMiB: 1 } }),
    );
    const stack = await openStack(dir);
    stacks.push(stack);
    const r = await askAndTime(stack, 'tiny', 'hello');
    expect(r.ms).toBeLessThan(5000);
    expect(r.text).toMatch(ERROR);
    expect(r.text).toMatch(/budget|memory/i);
    expect((await health(stack.serve))?.status).toMatch(/ok|degraded/);
    expect(stack.serve.cli.child.exitCode).toBeNull();
  });
});
