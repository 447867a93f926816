// External agents as a backend: `agent:<id>` runs the agent of that id in settings (agents[]) once per request, a
// program (agent-process.ts) or an HTTP endpoint (agent-http.ts), and streams what it writes as the reply, read
// through its format's adapter (agent-formats.ts). A program runs on this machine; an endpoint only when loopback.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSettings } from '../../../common/settings-tools.ts';
import { resolveEnv } from '../../mcp/tool-rules.ts';
import { generationStats } from '../generation-stats.ts';
import { DEFAULT_CONTEXT_WINDOW } from '../prompt-budget.ts';
import { isLoopbackUrl } from '../router-privacy.ts';
import {
  InferenceError,
  type ChatChunk,
  type ChatMessage,
  type ChatRequest,
  type ContextWindow,
  type InferenceBackend,
  type ModelInfo,
} from '../types.ts';
import { agentAdapter, type AgentEvent } from './agent-formats.ts';
import { runAgentHttp } from './agent-http.ts';
import { baseEnv, runAgentProcess } from './agent-process.ts';

export const AGENT_PREFIX = 'agent:';

export interface AgentBackendOptions {
  /** Read on every request (settings.agents). */
  getAgents: () => AgentSettings[];
  resolveSecret: (name: string) => Promise<string | undefined>;
  fetch?: typeof fetch;
  /** The app's environment, read for `env:VAR` references (and PATH, HOME…); default process.env. */
  env?: Record<string, string | undefined>;
  now?: () => number;
  /** Told of every process an agent run starts (tests check that none is left). */
  onPid?: (pid: number) => void;
}

/** The conversation as one prompt: the system prompt, then each message with its speaker (the bot's own as "You"). */
export function agentPrompt(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) =>
      m.role === 'assistant' ? `You: ${m.content}` : m.role === 'tool' ? `Tool result: ${m.content}` : m.content,
    )
    .join('\n\n');
}

export class AgentBackend implements InferenceBackend {
  readonly kind = 'agent' as const;
  readonly #o: AgentBackendOptions;

  constructor(o: AgentBackendOptions) {
    this.#o = o;
  }

  handles(model: string): boolean {
    return model.startsWith(AGENT_PREFIX);
  }

  #agent(model: string): AgentSettings {
    const id = model.slice(AGENT_PREFIX.length);
    const a = this.#o.getAgents().find((x) => x.id === id);
    if (!a)
      throw new InferenceError('ModelNotFound', `No agent is called "${id}" in settings.`, {
        hint: 'Add it under agents in settings, or fix the bot’s model (agent:<id>).',
      });
    return a;
  }

  isLocal(model: string): boolean {
    try {
      const a = this.#agent(model);
      return a.url === undefined || isLoopbackUrl(a.url);
    } catch {
      return false;
    }
  }

  async listModels(): Promise<ModelInfo[]> {
    return this.#o.getAgents().map((a) => ({
      ref: `${AGENT_PREFIX}${a.id}`,
      name: a.id,
      backend: 'agent',
      source: 'agent',
      location: a.url ?? [a.command, ...a.args].join(' '),
      local: a.url === undefined || isLoopbackUrl(a.url),
    }));
  }

  async ensureModel(model: string): Promise<void> {
    this.#agent(model);
  }

  async *chat(request: ChatRequest): AsyncIterable<ChatChunk> {
    const agent = this.#agent(request.model);
    const now = this.#o.now ?? (() => Date.now());
    const started = now();
    const prompt = agentPrompt(request.messages);
    const adapter = agentAdapter(agent.format);
    let text = '';
    let firstAt: number | undefined;
    let usage: { input: number; output: number } | undefined;
    let error: string | undefined;
    const take = (events: AgentEvent[]): string => {
      let out = '';
      for (const e of events) {
        if (e.kind === 'text') out += e.text;
        else if (e.kind === 'usage') usage = { input: e.input, output: e.output };
        else error ??= e.message;
      }
      return out;
    };
    for await (const piece of this.#pieces(agent, prompt, request.signal)) {
      const t = take(adapter.push(piece));
      if (!t) continue;
      firstAt ??= now();
      text += t;
      yield { type: 'text', text: t, tokens: 1 };
    }
    const rest = take(adapter.end());
    if (rest) {
      text += rest;
      yield { type: 'text', text: rest, tokens: 1 };
    }
    if (error)
      throw new InferenceError('BackendUnavailable', `The agent "${agent.id}" reported an error: ${error}`, {
        hint: 'See what the agent said above; run it by hand in its folder for more.',
      });
    const stats = generationStats({
      backend: 'agent',
      model: request.model,
      startedAt: started,
      firstTokenAt: firstAt,
      endedAt: now(),
      promptTokens: usage?.input ?? Math.ceil(prompt.length / 4),
      completionTokens: usage?.output ?? Math.ceil(text.length / 4),
    });
    yield { type: 'done', text, stats };
  }

  /** The raw output of one run: a program in its folder (a fresh one when settings name none), or an endpoint. */
  async *#pieces(agent: AgentSettings, prompt: string, signal: AbortSignal | undefined): AsyncGenerator<string> {
    const env = await resolveEnv(agent.env, this.#o.resolveSecret, this.#o.env ?? process.env).catch((err: unknown) => {
      throw new InferenceError(
        'BackendUnavailable',
        `The agent "${agent.id}" cannot start: ${(err as Error).message}.`,
        {
          hint: 'Set the secret or the environment variable it names, or change agents → env in settings.',
        },
      );
    });
    if (agent.url) {
      yield* runAgentHttp({ agent, prompt, env, signal, fetch: this.#o.fetch ?? fetch });
      return;
    }
    const scratch = agent.cwd ? undefined : await mkdtemp(join(tmpdir(), `agent-${agent.id}-`));
    try {
      yield* runAgentProcess({
        id: agent.id,
        command: agent.command as string,
        args: agent.args.map((a) => a.replaceAll('{prompt}', prompt)),
        cwd: agent.cwd ?? (scratch as string),
        env: { ...baseEnv(this.#o.env ?? process.env), ...env },
        stdin: prompt,
        timeoutMs: agent.timeoutMs,
        maxOutputBytes: agent.maxOutputBytes,
        signal,
        ...(this.#o.onPid ? { onPid: this.#o.onPid } : {}),
      });
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  }

  async contextWindow(): Promise<ContextWindow> {
    // An agent keeps its own context: what is sent is the room's history within the usual budget.
    return DEFAULT_CONTEXT_WINDOW;
  }

  async countTokens(_model: string, text: string): Promise<number> {
    return Math.ceil(text.length / 4);
  }

  async close(): Promise<void> {
    // Each run owns its process and ends with it.
  }
}
