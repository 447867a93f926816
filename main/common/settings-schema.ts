// The one settings schema: every side (core, electron, renderer) validates against it.
// Defaults live here so that electron-store (desktop) and conf (serve) behave the same.
import { z } from 'zod';
import {
  checkMasterReferences,
  classifierSchema,
  endpointCostFields,
  pipelineSchema,
  taskSchema,
} from './settings-master.ts';
import { apiSettingsSchema } from './settings-api.ts';
import { peerSettingsSchema } from './settings-peers.ts';
import {
  attachmentSettingsSchema,
  botAttachmentFields,
  defaultAttachmentSettings,
  endpointVisionFields,
} from './settings-attachments.ts';
import { updatesSettingsFields } from './settings-updates.ts';
import { agentSchema, botToolFields, checkToolReferences, MCP_DEFAULTS, mcpSettingsSchema } from './settings-tools.ts';

export const SETTINGS_VERSION = 1;

const id = z.string().regex(/^[a-z0-9][a-z0-9._=-]{0,63}$/, 'use lower-case letters, digits and . _ = - (at most 64)');

export const backendKind = z.enum(['llama', 'ollama', 'openai']);
export type BackendKind = z.infer<typeof backendKind>;

/** A model reference: `llama:<path or hf: URI or discovered id>`, `ollama:<tag>` (the first Ollama endpoint), `ollama@<endpointId>:<tag>`, `openai:<endpointId>/<model>`. */
export const modelRef = z.string().min(1, 'a model reference is required');

export const botSchema = z.object({
  id,
  displayName: z.string().min(1).max(64),
  avatar: z.string().optional(),
  model: modelRef,
  systemPrompt: z.string().default('You are {display_name}, a helpful AI assistant.'),
  temperature: z.number().min(0).max(2).default(0.7),
  maxTokens: z.number().int().min(1).max(32768).default(2048),
  localOnly: z.boolean().default(false),
  /** Seconds to keep the model loaded after its last use; 0 = unload at once. */
  keepAliveSeconds: z.number().int().min(0).default(300),
  pinned: z.boolean().default(false),
  /** Model refs tried in order when the primary fails. */
  fallback: z.array(modelRef).default([]),
  /** The task whose models answer this bot's requests (a rule, `!task` or the privacy check may still decide). */
  task: z.string().optional(),
  /** Mentioning this bot runs the pipeline on the message instead of one answer. */
  pipeline: z.string().optional(),
  ...botAttachmentFields,
  ...botToolFields,
});
export type BotConfig = z.infer<typeof botSchema>;

export const ollamaEndpointSchema = z.object({
  id,
  url: z.url().default('http://127.0.0.1:11434'),
  /** Context sent as num_ctx (the model's trained context caps it). Unset: 8192. */
  contextTokens: z.number().int().min(256).max(1_048_576).optional(),
  /** A reply that gets no token for this long is ended and the request aborted. Unset: 60000. */
  idleTimeoutMs: z.number().int().min(100).optional(),
  /** The same limit until the first token, which waits for the model to load and read the prompt. Unset: 300000. */
  loadTimeoutMs: z.number().int().min(100).optional(),
});

export const openaiEndpointSchema = z.object({
  id,
  /** Base URL up to and including /v1. */
  url: z.url(),
  /** Name of the secret holding the API key (never the key itself), or env:VAR. */
  apiKeyRef: z.string().optional(),
  requestsPerMinute: z.number().int().min(1).default(100),
  timeoutMs: z.number().int().min(1000).default(120_000),
  /** Other endpoints serving the same models, tried in order when this one is unhealthy. */
  failover: z.array(z.string()).default([]),
  /** The models' context in tokens, for the prompt budget. Unset: 8192. */
  contextTokens: z.number().int().min(256).max(10_000_000).optional(),
  /** Once tokens flow, a reply that gets none for this long is ended (timeoutMs covers the wait for the first). Unset: 60000. */
  idleTimeoutMs: z.number().int().min(100).optional(),
  ...endpointCostFields,
  ...endpointVisionFields,
});

export const routingRuleSchema = z
  .object({
    /** Which bot the rule applies to; omitted = every bot. */
    bot: z.string().optional(),
    /** A `!command` that selects this rule. */
    command: z.string().optional(),
    /** A case-insensitive regular expression on the prompt. */
    pattern: z.string().optional(),
    /** The request holds a fenced code block (true), or one in any of these languages (`ts`, `python`, …). */
    code: z.union([z.boolean(), z.array(z.string().min(1))]).optional(),
    /** The request is at least (or at most) this many characters long. */
    minChars: z.number().int().min(0).optional(),
    maxChars: z.number().int().min(0).optional(),
    /** The request carries an image (true) or none (false). */
    image: z.boolean().optional(),
    /** The model that answers when the rule matches … */
    model: modelRef.optional(),
    /** … or the task whose models do. */
    task: z.string().optional(),
    reason: z.string().optional(),
  })
  .refine((r) => r.model !== undefined || r.task !== undefined, { message: 'a rule needs a model or a task' });

/** The error of a pattern that is not a valid (case-insensitive) regular expression; undefined when it is. */
export function patternError(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'i');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const sensitivePatternSchema = z.object({
  /** Named in notices and logs as custom:<name>; the match itself never is. */
  name: z.string().min(1).max(64),
  /** A case-insensitive regular expression; one that does not compile is a settings error. */
  pattern: z
    .string()
    .min(1)
    .superRefine((p, ctx) => {
      const err = patternError(p);
      if (err !== undefined) ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${err}` });
    }),
});

export const settingsSchema = z
  .object({
    version: z.number().int().default(SETTINGS_VERSION),
    owner: z
      .object({
        localpart: id.default('owner'),
        displayName: z.string().min(1).max(64).default('You'),
      })
      .default({ localpart: 'owner', displayName: 'You' }),
    homeserver: z
      .discriminatedUnion('mode', [
        z.object({
          mode: z.literal('bundled'),
          serverName: z.string().default('agent-room.localhost'),
          /** Fixed port; 0 = pick a free one and keep it. */
          port: z.number().int().min(0).max(65535).default(0),
          lanAccess: z.boolean().default(false),
          binaryPath: z.string().optional(),
        }),
        z.object({
          mode: z.literal('external'),
          url: z.url(),
          /** Name of the secret holding the registration token. */
          registrationTokenRef: z.string().default('homeserver.registrationToken'),
        }),
      ])
      .default({ mode: 'bundled', serverName: 'agent-room.localhost', port: 0, lanAccess: false }),
    room: z
      .object({
        name: z.string().default('AI Team'),
        topic: z.string().default('Your private AI team. Mention a bot with @name to ask it.'),
        encrypted: z.boolean().optional(),
      })
      .default({ name: 'AI Team', topic: 'Your private AI team. Mention a bot with @name to ask it.' }),
    bots: z.array(botSchema).default([]),
    endpoints: z
      .object({
        ollama: z.array(ollamaEndpointSchema).default([]),
        openai: z.array(openaiEndpointSchema).default([]),
      })
      .default({ ollama: [], openai: [] }),
    routing: z
      .object({
        rules: z.array(routingRuleSchema).default([]),
        classifier: classifierSchema.default({ timeoutMs: 2000 }),
      })
      .default({ rules: [], classifier: { timeoutMs: 2000 } }),
    /** Named tasks: which models answer code review, e-mail, extraction … and why. */
    tasks: z.array(taskSchema).default([]),
    /** Named pipelines of stages (`!run <name> <text>`, `agent-room pipeline run`). */
    pipelines: z.array(pipelineSchema).default([]),
    /** MCP servers the bots' tools come from, and how approvals wait. */
    mcp: mcpSettingsSchema.default(MCP_DEFAULTS),
    /** External agent programs or endpoints that answer as a bot (`agent:<id>` as its model). */
    agents: z.array(agentSchema).default([]),
    inference: z
      .object({
        /** Folders searched for GGUF files besides <data>/models, Ollama's, LM Studio's and Jan's. */
        modelFolders: z.array(z.string()).default([]),
        /** Threads for node-llama-cpp; 0 = from the hardware plan. */
        threads: z.number().int().min(0).default(0),
        /** Most models loaded at once; 0 = from the hardware plan. */
        maxLoadedModels: z.number().int().min(0).default(0),
        /** Memory budget for loaded models in MiB; 0 = from the hardware plan. */
        memoryBudgetMiB: z.number().int().min(0).default(0),
        /** Most tokens of context per conversation for node-llama-cpp models; unset or 0 = from the hardware plan. */
        contextTokens: z.number().int().min(0).optional(),
        preferOllama: z.boolean().default(false),
      })
      .default({ modelFolders: [], threads: 0, maxLoadedModels: 0, memoryBudgetMiB: 0, preferOllama: false }),
    privacy: z
      .object({
        /** A request holding card numbers, IBANs, e-mail addresses, phone numbers, keys or these patterns stays on this machine. */
        enabled: z.boolean().default(true),
        sensitivePatterns: z.array(sensitivePatternSchema).default([]),
      })
      .default({ enabled: true, sensitivePatterns: [] }),
    /** Images and documents posted in the room (settings-attachments.ts). */
    attachments: attachmentSettingsSchema.default(defaultAttachmentSettings),
    audit: z
      .object({
        /** Every model call is recorded in <data>/state/audit.sqlite (`agent-room audit`). */
        enabled: z.boolean().default(true),
        /** Calls older than this are removed when the app starts; 0 = keep them all. */
        retentionDays: z.number().int().min(0).max(36_500).default(90),
        /** Also keep the question and the answer's text (off: only who, which model, why, tokens, time). */
        storeText: z.boolean().default(false),
      })
      .default({ enabled: true, retentionDays: 90, storeText: false }),
    guard: z
      .object({
        maxHops: z.number().int().min(0).max(20).default(3),
        roomTokensPerHour: z.number().int().min(0).default(200_000),
        contextMessages: z.number().int().min(1).max(200).default(10),
        mentionOnly: z.boolean().default(true),
        allowDirectMessages: z.boolean().default(true),
        rateLimit: z
          .object({
            maxRequests: z.number().int().min(1).default(10),
            windowSeconds: z.number().int().min(1).default(60),
          })
          .default({ maxRequests: 10, windowSeconds: 60 }),
        allowedUsers: z.array(z.string()).default([]),
        ignoreHistoryOlderThanSeconds: z.number().int().min(0).default(300),
        editsPerSecond: z.number().min(0.1).max(10).default(2),
        /** Most mentions waiting or being answered in one room; more are refused with a notice, never dropped silently. */
        maxQueuedPerRoom: z.number().int().min(1).max(10_000).default(200),
        /** Most mentions waiting or being answered across all rooms. */
        maxQueued: z.number().int().min(1).max(100_000).default(1000),
        /** Bots addressed in one message answer at once (each in its own order); false: one after the other, each seeing the earlier answers. */
        parallelBots: z.boolean().default(true),
      })
      .default({
        maxHops: 3,
        roomTokensPerHour: 200_000,
        contextMessages: 10,
        mentionOnly: true,
        allowDirectMessages: true,
        rateLimit: { maxRequests: 10, windowSeconds: 60 },
        allowedUsers: [],
        ignoreHistoryOlderThanSeconds: 300,
        editsPerSecond: 2,
        maxQueuedPerRoom: 200,
        maxQueued: 1000,
        parallelBots: true,
      }),
    ui: z
      .object({
        theme: z.enum(['system', 'light', 'dark']).default('system'),
        closeToTray: z.boolean().default(true),
        startAtLogin: z.boolean().default(false),
        startHidden: z.boolean().default(false),
        notifications: z.boolean().default(true),
        /** First run with no model on disk: download the recommended model at once (off: the window waits for a click). */
        downloadRecommendedModel: z.boolean().default(true),
        window: z
          .object({
            x: z.number().int().optional(),
            y: z.number().int().optional(),
            width: z.number().int().min(320).default(1100),
            height: z.number().int().min(240).default(760),
          })
          .default({ width: 1100, height: 760 }),
      })
      .default({
        theme: 'system',
        closeToTray: true,
        startAtLogin: false,
        startHidden: false,
        notifications: true,
        downloadRecommendedModel: true,
        window: { width: 1100, height: 760 },
      }),
    control: z
      .object({
        /** Port of the control API and chat window in serve mode. */
        port: z.number().int().min(0).max(65535).default(8765),
      })
      .default({ port: 8765 }),
    /** The OpenAI-compatible API under /v1 (settings-api.ts). */
    api: apiSettingsSchema,
    ...updatesSettingsFields,
    /** Pairing with other machines: the TLS listener, the name, LAN discovery (settings-peers.ts). */
    peers: peerSettingsSchema,
  })
  .superRefine(checkMasterReferences)
  .superRefine(checkToolReferences);

export type Settings = z.infer<typeof settingsSchema>;
export type SettingsInput = z.input<typeof settingsSchema>;

export function defaultSettings(): Settings {
  return settingsSchema.parse({});
}
