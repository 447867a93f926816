// JSON output on node-llama-cpp: a JSON schema becomes a grammar, so even the random-weight tiny model answers JSON
// that parses and fits the schema; a schema the grammar cannot express is a clear error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { isInferenceError, type ChatChunk } from '../../main/core/inference/types.ts';
import { tinyModel } from '../support/models.ts';

let model: string;
let backend: LlamaBackend;

beforeAll(async () => {
  // EOS left possible: once the grammar's JSON is complete, the end of the answer is all it allows.
  model = `llama:${await tinyModel({ suppressEos: false })}`;
  backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 1, contextSize: 512 });
});
afterAll(async () => {
  await backend.close();
});

async function answer(schema: Record<string, unknown>, seed: number): Promise<{ text: string; streamed: string }> {
  let streamed = '';
  let text = '';
  for await (const c of backend.chat({
    model,
    messages: [{ role: 'user', content: 'Classify: hello world' }],
    sampling: { maxTokens: 60, temperature: 0.8, seed },
    jsonSchema: schema,
  }) as AsyncIterable<ChatChunk>) {
    if (c.type === 'text') streamed += c.text;
    else if (c.type === 'done') text = c.text;
  }
  return { text, streamed };
}

describe('LlamaBackend with a JSON schema', () => {
  const schema = {
    type: 'object',
    properties: { category: { enum: ['simple', 'complex'] }, urgent: { type: 'boolean' } },
    required: ['category', 'urgent'],
    additionalProperties: false,
  };

  it('answers JSON that parses and validates, whatever the seed', async () => {
    const validate = new Ajv().compile(schema);
    for (const seed of [1, 2, 3]) {
      const { text, streamed } = await answer(schema, seed);
      expect(streamed).toBe(text);
      const parsed: unknown = JSON.parse(text);
      expect(validate(parsed), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('takes anyOf as a choice (node-llama-cpp alone would force null there)', async () => {
    const choice = {
      type: 'object',
      properties: { label: { anyOf: [{ enum: ['x', 'y'] }, { type: 'boolean' }] } },
      required: ['label'],
      additionalProperties: false,
    };
    const validate = new Ajv().compile(choice);
    const { text } = await answer(choice, 4);
    expect(validate(JSON.parse(text)), text).toBe(true);
  });

  it('refuses a schema the grammar cannot express, saying where', async () => {
    const err = await answer({ type: 'object', properties: { n: { allOf: [{ type: 'string' }] } } }, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInferenceError(err, 'BadResponse')).toBe(true);
    expect((err as Error).message).toBe(
      'The JSON schema cannot be used as a grammar: at properties.n: "allOf" cannot be a grammar',
    );
  });
});
