// Tools on node-llama-cpp, with the generated tiny model (random weights: it never calls anything by itself). The
// tools reach the model as chat functions documented in its prompt; a call, once the model starts one (here forced
// by a token bias on the chat wrapper's call prefix), is parsed under the tool's schema grammar into a tool call the
// tool loop can run; a tool's result goes back as the function call's result and generation goes on.
import { getLlama, LlamaChat, TokenBias, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaProblem } from '../../main/core/bots/tool-call.ts';
import { toChatHistory } from '../../main/core/inference/llama/chat-history.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { llamaFunctions, toolCallsFrom } from '../../main/core/inference/llama/llama-tools.ts';
import type { ChatChunk, ChatMessage, ToolSpec } from '../../main/core/inference/types.ts';
import { tinyModel } from '../support/models.ts';

const ECHO: ToolSpec = {
  name: 'everything__echo',
  description: 'Echoes back the input string',
  parameters: {
    type: 'object',
    properties: { message: { type: 'string', description: 'Message to echo' } },
    required: ['message'],
    $schema: 'http://json-schema.org/draft-07/schema#',
  },
};
/** server-everything's get-annotated-message (its enum keeps the forced call short on a shared CPU). */
const ANNOTATED: ToolSpec = {
  name: 'everything__get-annotated-message',
  description: 'Demonstrates how annotations can be used to provide metadata about content.',
  parameters: {
    type: 'object',
    properties: {
      messageType: {
        type: 'string',
        enum: ['error', 'success', 'debug'],
        description: 'Type of message to demonstrate',
      },
    },
    required: ['messageType'],
    $schema: 'http://json-schema.org/draft-07/schema#',
  },
};
let path: string;
let backend: LlamaBackend;

beforeAll(async () => {
  path = await tinyModel();
  backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 1, contextSize: 2048 });
}, 60_000);

afterAll(async () => {
  await backend?.close();
});

async function chat(messages: ChatMessage[], tools?: ToolSpec[]): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of backend.chat({
    model: `llama:${path}`,
    messages,
    sampling: { maxTokens: 8, seed: 1 },
    ...(tools ? { tools } : {}),
  }))
    out.push(c);
  return out;
}

const done = (chunks: ChatChunk[]) => chunks.find((c) => c.type === 'done') as Extract<ChatChunk, { type: 'done' }>;

describe('tools on node-llama-cpp', () => {
  it('the tools reach the model: its prompt carries their documentation', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a bot.' },
      { role: 'user', content: 'echo hi' },
    ];
    const without = done(await chat(messages)).stats.promptTokens;
    const withTools = done(await chat(messages, [ECHO])).stats.promptTokens;
    // The chat wrapper documents each function (name, description, parameters) and how to call it.
    expect(withTools - without).toBeGreaterThan(100);
  }, 60_000);

  it('a call the model starts is parsed under the schema into a tool call the loop can run', async () => {
    const llama = await getLlama({ gpu: false });
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 2048 });
    const lc = new LlamaChat({ contextSequence: context.getSequence() });
    try {
      // The chat wrapper's call prefix, forced token by token; from there node-llama-cpp's grammar holds the model to
      // a known function name and parameters of its schema.
      const prefix = model.tokenize(String(lc.chatWrapper.settings.functions.call.prefix));
      let step = 0;
      const result = await lc.generateResponse(
        toChatHistory([
          { role: 'system', content: 'You are a bot.' },
          { role: 'user', content: 'echo hi' },
        ]),
        {
          functions: llamaFunctions([ANNOTATED]),
          documentFunctionParams: true,
          maxTokens: 600,
          seed: 1,
          temperature: 0.8,
          tokenBias: () => {
            const bias = new TokenBias(model.tokenizer);
            const t: Token | undefined = prefix[step++];
            if (t !== undefined) bias.set(t, { logit: 1e9 });
            return bias;
          },
        },
      );
      expect(result.metadata.stopReason).toBe('functionCalls');
      const calls = toolCallsFrom(result.functionCalls);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ id: 'call_0', name: 'everything__get-annotated-message' });
      const args = JSON.parse(calls[0]!.arguments) as Record<string, unknown>;
      expect(['error', 'success', 'debug']).toContain(args.messageType);
      expect(schemaProblem(ANNOTATED.parameters, args)).toBeUndefined();
    } finally {
      await lc.dispose();
      await context.dispose();
      await model.dispose();
    }
  }, 120_000);

  it('a call and its result go back as the model turn’s function call, and generation goes on', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a bot.' },
      { role: 'user', content: 'echo hi' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'call_0', name: 'everything__echo', arguments: '{"message":"hi"}' }],
      },
      { role: 'tool', toolCallId: 'call_0', toolName: 'everything__echo', content: 'Echo: hi' },
    ];
    const history = toChatHistory(messages);
    expect(history.at(-1)).toEqual({
      type: 'model',
      response: [{ type: 'functionCall', name: 'everything__echo', params: { message: 'hi' }, result: 'Echo: hi' }],
    });
    const chunks = await chat(messages, [ECHO]);
    expect(done(chunks).stats.completionTokens).toBeGreaterThan(0);
  }, 60_000);
});
