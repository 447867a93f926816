// Import of the original matrix-agent-room config.yaml: mapping, secrets kept out of settings, the report.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSettings, settingsSchema } from '../../main/common/settings-schema.ts';
import { AgentRoomImportError, importAgentRoomConfig } from '../../main/core/settings/import-yaml.ts';

const threeBots = readFileSync(join(import.meta.dirname, '../fixtures/import/three-bots.yaml'), 'utf8');
const env = { OPENAI_API_KEY: 'sk-openai-from-env', QWEN_BOT_PASSWORD: 'qwen-pw-from-env' };

function model(fields: Record<string, unknown>): string {
  return `models:\n  - ${Object.entries(fields)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n    ')}\n`;
}

describe('importAgentRoomConfig: the three-bot fixture', () => {
  const { settings, secrets, report } = importAgentRoomConfig(threeBots, env);

  it('produces valid settings with an external homeserver', () => {
    expect(settingsSchema.safeParse(settings).success).toBe(true);
    expect(settings.homeserver).toEqual({
      mode: 'external',
      url: 'https://matrix.example.org',
      registrationTokenRef: 'homeserver.registrationToken',
    });
  });

  it('maps each model to a bot with its model ref, prompt and sampling (defaults where the YAML has none)', () => {
    expect(settings.bots.map((b) => [b.id, b.displayName, b.model, b.temperature, b.maxTokens])).toEqual([
      ['qwen', 'Qwen 🔮', 'ollama:qwen2.5:7b', 0.7, 2048],
      // External homeserver: the existing account @gpt4 is kept, so the id is its localpart.
      ['gpt4', 'GPT-4o 🧠', 'openai:openai/gpt-4o-mini', 0.3, 4096],
      ['claude', 'Claude', 'openai:anthropic/claude-sonnet-4-5', 0.7, 2048],
    ]);
    expect(settings.bots[0]?.systemPrompt).toMatch(/^You are Qwen, a vision-capable AI/);
    expect(settings.bots[1]?.systemPrompt).toBe('You are {display_name}, a helpful AI assistant.');
  });

  it('creates one endpoint per host, with key references and no keys', () => {
    expect(settings.endpoints.ollama).toEqual([{ id: 'local', url: 'http://127.0.0.1:11434' }]);
    expect(settings.endpoints.openai.map((e) => [e.id, e.url, e.apiKeyRef])).toEqual([
      ['openai', 'https://api.openai.com/v1', 'endpoint.openai.apiKey'],
      ['anthropic', 'https://api.anthropic.com/v1', 'endpoint.anthropic.apiKey'],
    ]);
  });

  it('returns the keys and passwords as secrets and never puts one in the settings', () => {
    expect(secrets).toEqual({
      'endpoint.openai.apiKey': 'sk-openai-from-env',
      'endpoint.anthropic.apiKey': 'sk-ant-literal-key',
      'bot.qwen.password': 'qwen-pw-from-env',
      'bot.claude.password': 'claude-login-pw',
    });
    const json = JSON.stringify(settings);
    for (const value of Object.values(secrets)) expect(json).not.toContain(value);
  });

  it('maps the globals to the loop guard and the room', () => {
    expect(settings.guard).toMatchObject({
      contextMessages: 20,
      mentionOnly: true,
      allowDirectMessages: false,
      rateLimit: { maxRequests: 5, windowSeconds: 30 },
    });
    expect(settings.room).toMatchObject({ name: 'Model Council', topic: 'Multi-model AI collaboration room' });
  });

  it('reports what it mapped, what it did not, and what the person must do', () => {
    expect(report.notMapped).toEqual([
      'logging: not a matrix-agent-room setting Agent Room knows; not imported.',
      'models[2].vision: not a matrix-agent-room setting Agent Room knows; not imported.',
    ]);
    expect(report.mapped).toContain(
      'homeserver.url https://matrix.example.org → external homeserver https://matrix.example.org (Agent Room will not start its own).',
    );
    expect(report.mapped).toContain(
      'models[1] (gpt): API key from env OPENAI_API_KEY → secret endpoint.openai.apiKey (not in settings.json).',
    );
    expect(report.mapped).toContain('triggers.allow_dm false → guard.allowDirectMessages.');
    expect(report.mapped).toContain('rate_limit.max_requests 5 → guard.rateLimit.maxRequests (per sender).');
    const warnings = report.warnings.join('\n');
    expect(warnings).toMatch(/GPT_BOT_PASSWORD is not set/);
    expect(warnings).toMatch(/models\[1\] \(gpt\)\.matrix_user @gpt4:example\.org: .* the bot id is "gpt4"/);
    expect(warnings).toMatch(
      /models\[2\] \(Claude\)\.api_key: the key was stored as a secret; remove it from the YAML/,
    );
    expect(warnings).not.toMatch(/registration token/);
    expect(report.stillNeeded).toEqual([
      expect.stringMatching(
        /^The registration token of https:\/\/matrix\.example\.org: .*`agent-room serve --registration-token T`/,
      ),
    ]);
    // No report line carries a secret.
    const all = [...report.mapped, ...report.notMapped, ...report.warnings].join('\n');
    for (const value of Object.values(secrets)) expect(all).not.toContain(value);
  });
});

describe('importAgentRoomConfig: homeserver.url', () => {
  it.each([
    ['http://localhost:8008', 'bundled', /loopback address/],
    ['http://127.0.0.1:8008', 'bundled', /loopback address/],
    ['http://synapse:8008', 'bundled', /Docker Compose service name/],
    ['https://matrix.example.org', 'external', /external homeserver/],
  ])('%s → %s', (url, mode, why) => {
    const r = importAgentRoomConfig(`homeserver:\n  url: "${url}"\n`, {});
    expect(r.settings.homeserver.mode).toBe(mode);
    expect(r.report.mapped[0]).toMatch(why);
  });

  it.each([
    ['https://matrix.example.org', 'external', /^homeserver https:\/\/matrix\.example\.org → external homeserver/],
    ['http://localhost:8008', 'bundled', /^homeserver http:\/\/localhost:8008 is a loopback address/],
  ])('a URL string as homeserver (%s) maps like homeserver.url', (url, mode, why) => {
    const r = importAgentRoomConfig(`homeserver: "${url}"\n`, {});
    expect(r.settings.homeserver.mode).toBe(mode);
    expect(r.report.mapped[0]).toMatch(why);
    expect(r.report.notMapped).toEqual([]);
  });

  it('says what is still needed for an external homeserver: the registration token, and how to give it', () => {
    const r = importAgentRoomConfig('homeserver: "https://matrix.example.org/"\n', {});
    expect(r.settings.homeserver).toEqual({
      mode: 'external',
      url: 'https://matrix.example.org',
      registrationTokenRef: 'homeserver.registrationToken',
    });
    expect(r.report.stillNeeded).toHaveLength(1);
    expect(r.report.stillNeeded[0]).toContain(
      '`agent-room serve --homeserver-url https://matrix.example.org --registration-token T`',
    );
    expect(r.report.stillNeeded[0]).toContain('`agent-room set-password <owner|bot id>`');
    expect(importAgentRoomConfig('homeserver: "http://127.0.0.1:8008"\n', {}).report.stillNeeded).toEqual([]);
  });

  it('reports a homeserver that is neither a URL nor a mapping', () => {
    expect(importAgentRoomConfig('homeserver: 8008\n', {}).report.notMapped).toEqual([
      'homeserver: expected a URL or a mapping with "url"; kept the current homeserver setting.',
    ]);
    expect(importAgentRoomConfig('homeserver: "matrix.example.org"\n', {}).report.notMapped).toEqual([
      'homeserver: "matrix.example.org" is not an http(s) URL; kept the current homeserver setting.',
    ]);
  });

  it('keeps the current homeserver when the url is not http(s)', () => {
    const r = importAgentRoomConfig('homeserver:\n  url: "ftp://x"\n', {});
    expect(r.settings.homeserver.mode).toBe('bundled');
    expect(r.report.notMapped[0]).toMatch(/^homeserver\.url: "ftp:\/\/x" is not an http\(s\) URL/);
  });

  it('with the bundled homeserver the bot id is the @mention name, and a different localpart is reported', () => {
    const r = importAgentRoomConfig(
      `homeserver:\n  url: http://synapse:8008\n${model({ name: 'gpt', matrix_user: '@gpt4:x.org', backend: 'ollama', model: 'm' })}`,
      {},
    );
    expect(r.settings.bots[0]?.id).toBe('gpt');
    expect(r.report.warnings.join('\n')).toMatch(/bundled homeserver the bot is created as "gpt"/);
  });
});

describe('importAgentRoomConfig: models', () => {
  it('reads api_key_env at import time; an unset variable leaves an env: reference and a warning', () => {
    const r = importAgentRoomConfig(
      model({ name: 'a', backend: 'custom', api_url: 'http://10.0.0.9:8000/v1', api_key_env: 'LOCAL_KEY', model: 'm' }),
      {},
    );
    expect(r.settings.endpoints.openai[0]).toMatchObject({ id: '10.0.0.9-8000', apiKeyRef: 'env:LOCAL_KEY' });
    expect(r.secrets).toEqual({});
    expect(r.report.warnings[0]).toMatch(/LOCAL_KEY is not set now/);
  });

  it('falls back to OPENAI_API_KEY only for backend openai, never for another host', () => {
    const openai = importAgentRoomConfig(model({ name: 'g', backend: 'openai', model: 'gpt-4o' }), {
      OPENAI_API_KEY: 'sk-x',
    });
    expect(openai.settings.endpoints.openai[0]).toMatchObject({
      id: 'openai',
      url: 'https://api.openai.com/v1',
      apiKeyRef: 'endpoint.openai.apiKey',
    });
    expect(openai.secrets).toEqual({ 'endpoint.openai.apiKey': 'sk-x' });
    const custom = importAgentRoomConfig(
      model({ name: 'c', backend: 'custom', api_url: 'http://localhost:1234/v1', model: 'm' }),
      { OPENAI_API_KEY: 'sk-x' },
    );
    expect(custom.secrets).toEqual({});
    expect(custom.settings.endpoints.openai[0]).toMatchObject({ id: 'local-1234' });
    expect(custom.settings.endpoints.openai[0]?.apiKeyRef).toBeUndefined();
  });

  it('shares an endpoint between bots with one URL and one key, and splits it for different keys', () => {
    const yaml =
      'models:\n' +
      '  - { name: a, backend: openai, api_url: "https://api.groq.com/openai/v1", api_key_env: GROQ, model: m1 }\n' +
      '  - { name: b, backend: openai, api_url: "https://api.groq.com/openai/v1", api_key_env: GROQ, model: m2 }\n' +
      '  - { name: c, backend: custom, api_url: "https://api.groq.com/openai/v1", api_key: other-key, model: m3 }\n';
    const r = importAgentRoomConfig(yaml, { GROQ: 'gk' });
    expect(r.settings.endpoints.openai.map((e) => e.id)).toEqual(['groq', 'groq-2']);
    expect(r.settings.bots.map((b) => b.model)).toEqual(['openai:groq/m1', 'openai:groq/m2', 'openai:groq-2/m3']);
    expect(r.secrets).toEqual({ 'endpoint.groq.apiKey': 'gk', 'endpoint.groq-2.apiKey': 'other-key' });
  });

  it.each([
    [
      { name: 'x', backend: 'gemini', model: 'm' },
      /backend "gemini" is not one of ollama, openai, anthropic, custom; bot not imported/,
    ],
    [{ name: 'x', backend: 'custom', model: 'm' }, /no api_url, and backend custom has no default; bot not imported/],
    [{ name: 'x', backend: 'ollama' }, /has no "model"; bot not imported/],
    [{ backend: 'ollama', model: 'm' }, /has no usable "name"/],
    [
      { name: 'x', backend: 'ollama', api_url: 'not a url', model: 'm' },
      /api_url: "not a url" is not an http\(s\) URL; bot not imported/,
    ],
  ])('does not import %j and says why', (fields, why) => {
    const r = importAgentRoomConfig(model(fields), {});
    expect(r.settings.bots).toEqual([]);
    expect(r.report.notMapped.join('\n')).toMatch(why);
  });

  it('uses the defaults for values the schema rejects and reports them', () => {
    const r = importAgentRoomConfig(
      model({ name: 'x', backend: 'ollama', model: 'm', temperature: 3, max_tokens: 'lots' }) + 'context_window: 0\n',
      {},
    );
    expect(r.settings.bots[0]).toMatchObject({ temperature: 0.7, maxTokens: 2048 });
    expect(r.settings.guard.contextMessages).toBe(10);
    const notMapped = r.report.notMapped.join('\n');
    expect(notMapped).toMatch(
      /models\[0\]\.temperature: 3 is not accepted \(Too big: expected number to be <=2\); used the default 0\.7/,
    );
    expect(notMapped).toMatch(/models\[0\]\.max_tokens: "lots" is not accepted/);
    expect(notMapped).toMatch(/context_window: 0 is not accepted .*kept 10/);
  });

  it('warns about Docker service names and a missing models list', () => {
    const r = importAgentRoomConfig(
      model({ name: 'q', backend: 'ollama', api_url: 'http://ollama:11434', model: 'qwen' }),
      {},
    );
    expect(r.settings.endpoints.ollama).toEqual([{ id: 'ollama', url: 'http://ollama:11434' }]);
    expect(r.report.warnings.join('\n')).toMatch(/"ollama" looks like a Docker Compose service name/);
    expect(importAgentRoomConfig('room:\n  name: R\n', {}).report.warnings[0]).toMatch(/defines no models/);
  });

  it('merges into the current settings: replaces a bot with the same id, reuses an endpoint with the same URL', () => {
    const base = settingsSchema.parse({
      ...defaultSettings(),
      bots: [
        { id: 'q', displayName: 'Old', model: 'ollama:old' },
        { id: 'keep', displayName: 'Keep', model: 'ollama:k' },
      ],
      endpoints: { ollama: [{ id: 'home', url: 'http://127.0.0.1:11434' }], openai: [] },
    });
    const r = importAgentRoomConfig(
      model({ name: 'q', backend: 'ollama', api_url: 'http://127.0.0.1:11434/', model: 'new' }),
      {},
      base,
    );
    expect(r.settings.bots.map((b) => [b.id, b.model])).toEqual([
      ['q', 'ollama:new'],
      ['keep', 'ollama:k'],
    ]);
    expect(r.settings.endpoints.ollama).toEqual([{ id: 'home', url: 'http://127.0.0.1:11434' }]);
    expect(r.report.warnings.join('\n')).toMatch(/replaced the existing bot "q"/);
    expect(base.bots[0]?.model).toBe('ollama:old');
  });
});

describe('importAgentRoomConfig: files it cannot read', () => {
  it('invalid YAML → AgentRoomImportError with the line, the column and what to do', () => {
    const bad = 'homeserver:\n  url: "http://x\nmodels: []\n';
    let error: unknown;
    try {
      importAgentRoomConfig(bad, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AgentRoomImportError);
    const e = error as AgentRoomImportError;
    expect(e.code).toBe('invalid-yaml');
    expect(e.line).toBeGreaterThanOrEqual(2);
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.message).toMatch(new RegExp(`at line ${e.line}, column ${e.column}\\. Fix the file there`));
  });

  it('a duplicate key is invalid too', () => {
    expect(() => importAgentRoomConfig('room:\n  name: a\nroom:\n  name: b\n', {})).toThrow(
      /Map keys must be unique at line 3, column 1/,
    );
  });

  it.each(['- just\n- a list\n', '42\n', ''])('YAML that is not a mapping (%j) → not-a-mapping', (text) => {
    expect(() => importAgentRoomConfig(text, {})).toThrow(expect.objectContaining({ code: 'not-a-mapping' }));
  });
});
