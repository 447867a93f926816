// Tools on node-llama-cpp: each tool as a chat function (its schema as the grammar of its parameters, documented to
// the model by the chat wrapper), and the calls LlamaChat parsed as the interface's tool calls. LlamaChat only
// parses calls (LlamaChatSession would run them); the tool loop runs them and sends the results back.
import type { ChatModelFunctions, GbnfJsonSchema } from 'node-llama-cpp';
import type { ToolCall, ToolSpec } from '../types.ts';
import { grammarSchema } from './json-grammar.ts';

/** The parameters' schema as a grammar can take it; undefined (no parameters) when it cannot be one. */
function paramsOf(schema: Record<string, unknown>): GbnfJsonSchema | undefined {
  const { $schema: _drop, ...rest } = schema;
  try {
    return grammarSchema(rest) as GbnfJsonSchema;
  } catch {
    // A keyword the grammar cannot express: the call is still offered, and the tool's schema check judges it.
    return undefined;
  }
}

export function llamaFunctions(tools: readonly ToolSpec[]): ChatModelFunctions {
  return Object.fromEntries(
    tools.map((t) => [
      t.name,
      { ...(t.description ? { description: t.description } : {}), params: paramsOf(t.parameters) },
    ]),
  );
}

export function toolCallsFrom(calls: ReadonlyArray<{ functionName: string; params: unknown }> | undefined): ToolCall[] {
  return (calls ?? []).map((c, i) => ({
    id: `call_${i}`,
    name: c.functionName,
    arguments: JSON.stringify(c.params ?? {}),
  }));
}
