// Import of an AIMatrix master agent config (routing, resources, pipeline): the documentation's YAML as given
// (models in comments), the object and keyed forms under master_agent, endpoints, rate limits, fallbacks, the report.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSettings, settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import { conditionNames } from '../../main/core/settings/import-aimatrix.ts';
import { perMinute } from '../../main/core/settings/import-aimatrix-resources.ts';
import { formatOf, importConfig } from '../../main/core/settings/import-config.ts';

const aimatrix = readFileSync(join(import.meta.dirname, '../fixtures/import/aimatrix.yaml'), 'utf8');

const objectForm = `master_agent:
  routing:
    - task: code_review
      model: local/codellama:34b
      reason: "Specialized for code, no API costs"
    - task: customer_email
      models: [api/claude-3, api/gpt-4]
      description: Replies to customers
  pipeline:
    - stage: extract
      model: local/gemma2:2b
      task: extract_data
  cost_tracking: true
`;

function withOpenAI(ids: string[]): Settings {
  const s = defaultSettings();
  s.endpoints.openai = ids.map((id) =>
    settingsSchema.shape.endpoints
      .unwrap()
      .shape.openai.unwrap()
      .element.parse({
        id,
        url: `https://${id}.example.com/v1`,
      }),
  );
  return s;
}

describe('importConfig: the AIMatrix documentation YAML as given', () => {
  const { settings, report, secrets, format } = importConfig(aimatrix, {});

  it('reads it as AIMatrix and produces valid settings, with no secrets', () => {
    expect(format).toBe('aimatrix');
    expect(settingsSchema.safeParse(settings).success).toBe(true);
    expect(secrets).toEqual({});
  });

  it('maps routing to tasks, taking each model and reason from the entry\'s "# →" comment', () => {
    expect(settings.tasks).toEqual([
      { name: 'code_review', models: ['ollama:codellama:34b'], reason: 'Specialized for code, no API costs' },
      { name: 'customer_email', models: ['openai:cloud/claude-3'], reason: 'Best writing quality' },
      { name: 'data_extraction', models: ['ollama:gemma2:2b'], reason: 'Fast, cheap, good enough' },
      { name: 'complex_reasoning', models: ['openai:cloud/gpt-4'], reason: 'Highest capability needed' },
    ]);
    expect(report.mapped).toContain(
      'routing[0] → task "code_review": ollama:codellama:34b — "Specialized for code, no API costs" (model and reason read from its "# →" comment).',
    );
  });

  it('puts api/ models on a new "cloud" endpoint with a placeholder URL and says to set its URL and key', () => {
    expect(settings.endpoints.openai).toEqual([
      expect.objectContaining({ id: 'cloud', url: 'https://cloud.invalid/v1', requestsPerMinute: 100 }),
    ]);
    expect(settings.endpoints.openai[0]!.apiKeyRef).toBeUndefined();
    expect(report.stillNeeded).toEqual([]);
    expect(report.warnings[0]).toEqual(
      expect.stringMatching(
        /^Endpoint "cloud" serves api\/claude-3, api\/gpt-4, but the file does not say where: .*Set its URL and key/,
      ),
    );
    expect(report.mapped).toContain(
      'resources.cloud_apis.rate_limits.openai 100/min → endpoint "cloud" (the endpoint of the api/ models) requestsPerMinute 100.',
    );
  });

  it('maps the pipeline to one pipeline "imported": stage names, models, prompts from tasks, the condition as is', () => {
    expect(settings.pipelines).toEqual([
      {
        name: 'imported',
        description: 'Imported from an AIMatrix config.',
        stages: [
          { name: 'extract', model: 'ollama:gemma2:2b', prompt: 'Do this task: extract data.\n\n{{input}}' },
          {
            name: 'classify',
            model: 'ollama:llama3:8b',
            prompt:
              'Do this task: categorize.\n\nThe request:\n{{input}}\n\nThe output of the stage before:\n{{previous}}',
          },
          {
            name: 'process',
            model: 'openai:cloud/gpt-4',
            prompt: expect.stringMatching(/^Do this task: complex analysis\.\n\n.*\{\{previous\}\}$/s),
            condition: "category == 'complex'",
          },
        ],
      },
    ]);
    // The condition reads a field no stage answers yet: the report gives the schema to add to the stage before.
    expect(report.warnings).toContainEqual(
      expect.stringMatching(
        /^pipeline\[2\]\.condition "category == 'complex'" is kept as is \(CEL\)\. It reads category, .*give stage "classify" the schema \{"type":"object","properties":\{"category":\{"type":"string"\}\},"required":\["category"\]\}/,
      ),
    );
  });

  it('maps max_loaded and reports swap_strategy, preload and the fallback chain with what to do', () => {
    expect(settings.inference.maxLoadedModels).toBe(3);
    expect(report.mapped).toContain('resources.local_models.max_loaded 3 → inference.maxLoadedModels.');
    expect(report.warnings).toContainEqual(expect.stringMatching(/OLLAMA_MAX_LOADED_MODELS=3/));
    expect(report.notMapped).toEqual([
      expect.stringMatching(/^resources\.local_models\.swap_strategy lru: nothing to set; .*least recently used/),
      expect.stringMatching(
        /^resources\.local_models\.preload \[gemma2:2b, llama3:8b\]: Agent Room has no preload list; .*`ollama pull gemma2:2b`/,
      ),
      expect.stringMatching(
        /^resources\.cloud_apis\.fallback_chain \[openai:cloud\/gpt-4, openai:cloud\/claude-3, ollama:llama3:70b\]: no bot uses these models, .*set its fallback/,
      ),
    ]);
    expect(report.warnings).toContainEqual(
      expect.stringMatching(
        /^local\/ models run on the Ollama .*: pull codellama:34b, gemma2:2b, llama3:8b, llama3:70b/,
      ),
    );
  });

  it('sets the fallback of a bot that uses a model of the chain to the models after it', () => {
    const base = defaultSettings();
    base.bots = [
      settingsSchema.shape.bots.unwrap().element.parse({ id: 'gpt', displayName: 'GPT', model: 'openai:cloud/gpt-4' }),
    ];
    base.endpoints.openai = withOpenAI(['cloud']).endpoints.openai;
    const r = importConfig(aimatrix, {}, base);
    expect(r.settings.bots[0]!.fallback).toEqual(['openai:cloud/claude-3', 'ollama:llama3:70b']);
    expect(r.report.mapped).toContain(
      'resources.cloud_apis.fallback_chain → bot "gpt" (openai:cloud/gpt-4) falls back to openai:cloud/claude-3, ollama:llama3:70b.',
    );
    // The one endpoint in the settings serves api/ models: no new one, and no placeholder URL to set.
    expect(r.settings.endpoints.openai.map((e) => e.id)).toEqual(['cloud']);
    expect(r.report.warnings.join('\n')).not.toMatch(/placeholder/);
  });

  it('uses the one OpenAI-compatible endpoint in the settings, and makes "cloud" when there are several', () => {
    const one = importConfig(aimatrix, {}, withOpenAI(['groq']));
    expect(one.settings.tasks[3]!.models).toEqual(['openai:groq/gpt-4']);
    expect(one.settings.endpoints.openai.map((e) => [e.id, e.requestsPerMinute])).toEqual([['groq', 100]]);
    expect(one.report.warnings).toContainEqual(
      expect.stringMatching(/^api\/claude-3, api\/gpt-4: check that endpoint "groq" serves/),
    );
    const two = importConfig(aimatrix, {}, withOpenAI(['groq', 'openai']));
    expect(two.settings.tasks[3]!.models).toEqual(['openai:cloud/gpt-4']);
    // rate_limits.openai names an endpoint that exists: the limit goes there.
    expect(two.settings.endpoints.openai.map((e) => [e.id, e.requestsPerMinute])).toEqual([
      ['groq', 100],
      ['openai', 100],
      ['cloud', 100],
    ]);
    expect(two.report.mapped).toContain(
      'resources.cloud_apis.rate_limits.openai 100/min → endpoint "openai" requestsPerMinute 100.',
    );
  });

  it('replaces a task and the pipeline "imported" of an earlier import, and says so', () => {
    const again = importConfig(aimatrix, {}, importConfig(aimatrix, {}).settings);
    expect(again.settings.tasks).toHaveLength(4);
    expect(again.settings.pipelines.map((p) => p.name)).toEqual(['imported']);
    expect(again.report.warnings).toContain(
      'routing[0]: replaced the existing task "code_review" in the current settings.',
    );
    expect(again.report.warnings).toContain(
      'pipeline: replaced the existing pipeline "imported" in the current settings.',
    );
  });
});

describe('importConfig: other AIMatrix forms', () => {
  it('reads routing entries as objects under master_agent, and reports unknown keys', () => {
    const { settings, report, format } = importConfig(objectForm, {});
    expect(format).toBe('aimatrix');
    expect(settings.tasks).toEqual([
      { name: 'code_review', models: ['ollama:codellama:34b'], reason: 'Specialized for code, no API costs' },
      {
        name: 'customer_email',
        models: ['openai:cloud/claude-3', 'openai:cloud/gpt-4'],
        description: 'Replies to customers',
      },
    ]);
    expect(settings.pipelines[0]!.stages).toEqual([
      { name: 'extract', model: 'ollama:gemma2:2b', prompt: 'Do this task: extract data.\n\n{{input}}' },
    ]);
    expect(report.notMapped).toEqual([
      'master_agent.cost_tracking: not an AIMatrix setting Agent Room knows; not imported.',
    ]);
  });

  it('reads the keyed form: task name → model, or → {model, reason}', () => {
    const { settings } = importConfig(
      'routing:\n  code_review: { model: local/codellama:34b, reason: For code }\n  Quick Answers: local/gemma2:2b\n',
      {},
    );
    expect(settings.tasks).toEqual([
      { name: 'code_review', models: ['ollama:codellama:34b'], reason: 'For code' },
      { name: 'quick_answers', models: ['ollama:gemma2:2b'] },
    ]);
  });

  it('says why an entry is left out: no model, a bare name, a stage without a task', () => {
    const { settings, report } = importConfig(
      'routing:\n  - task: a\n  - task: b\n    model: mistral\npipeline:\n  - { stage: s1, model: local/x }\n',
      {},
    );
    expect(settings.tasks).toEqual([]);
    expect(settings.pipelines).toEqual([]);
    expect(report.notMapped).toEqual([
      'routing[0] (a): names no model (model: local/<name> or api/<name>, or a "# → model" comment); task not imported.',
      'routing[1].model: "mistral" does not say where it runs; write local/mistral (Ollama on this machine) or api/mistral (a cloud endpoint) and import again; left out of the task.',
      'routing[1] (b): no model Agent Room can use; task not imported.',
      'pipeline[0] (s1): has no task or prompt, so nothing says what it does; stage not imported.',
      'pipeline: no stage could be imported; no pipeline made.',
    ]);
  });

  it('reads a file with both formats as one import', () => {
    const yaml = `models:\n  - name: qwen\n    backend: ollama\n    model: qwen2.5\nrouting:\n  - task: code_review\n    model: local/qwen2.5\n`;
    const r = importConfig(yaml, {});
    expect(r.format).toBe('both');
    expect(r.settings.bots.map((b) => b.model)).toEqual(['ollama:qwen2.5']);
    expect(r.settings.tasks.map((t) => t.models)).toEqual([['ollama:qwen2.5']]);
    expect(r.report.notMapped).toEqual([]);
  });

  it.each([
    [{ routing: [] }, 'aimatrix'],
    [{ models: [] }, 'matrix-agent-room'],
    [{ master_agent: {}, room: {} }, 'both'],
    [{ logging: 1 }, 'matrix-agent-room'],
  ])('formatOf(%j) → %s', (root, format) => {
    expect(formatOf(root)).toBe(format);
  });

  it.each([
    ['100/min', 100],
    ['2/s', 120],
    ['6000/hour', 100],
    ['30 per minute', 30],
    [50, 50],
    ['1/hour', undefined],
    ['fast', undefined],
  ])('perMinute(%j) → %s', (value, expected) => {
    expect(perMinute(value)).toBe(expected);
  });

  it('finds the names a condition reads, not strings, functions or fields after a dot', () => {
    expect(conditionNames('category == \'complex\' && size(items) > 2 && extract.kind in ["a"]')).toEqual([
      'category',
      'items',
      'extract',
    ]);
  });
});
