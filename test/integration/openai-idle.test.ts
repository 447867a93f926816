// The OpenAI-compatible backend's idle limit: once tokens flow, a gap longer than the endpoint's idleTimeoutMs
// ends the stream with StreamStalledError (no failover: text already went out), and the connection is closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { StreamStalledError } from '../../main/core/inference/stream-watchdog.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

let slow: OpenAITestServer;

beforeAll(async () => {
  slow = await OpenAITestServer.start({ models: ['m1'], tokenDelayMs: 1500 });
});
afterAll(() => slow.close());

describe('an OpenAI-compatible stream that slows to a stall', () => {
  it('ends after idleTimeoutMs without a token, naming the setting', async () => {
    const backend = new OpenAIBackend({
      getEndpoints: () => [
        { id: 'slow', url: slow.url, requestsPerMinute: 100, timeoutMs: 10_000, idleTimeoutMs: 300, failover: [] },
      ],
    });
    const got: string[] = [];
    const run = async () => {
      for await (const c of backend.chat({
        model: 'openai:slow/m1',
        messages: [{ role: 'user', content: 'one two three' }],
      }))
        if (c.type === 'text') got.push(c.text);
    };
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamStalledError);
    expect(err).toMatchObject({
      code: 'Timeout',
      phase: 'idle',
      limitMs: 300,
      hint: expect.stringContaining('idleTimeoutMs in endpoints.openai (id "slow")'),
    });
    expect(got).toEqual(['Echo:']);
  });
});
