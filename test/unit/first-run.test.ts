import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../main/common/inference-types.ts';
import { firstRunTeam, friendlyName } from '../../main/core/app/first-run.ts';
import { planInference } from '../../main/core/probe/plan.ts';
import type { HardwareReport } from '../../main/core/probe/report.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'hardware', name), 'utf8')) as HardwareReport;

const gguf = (name: string, sizeMiB: number): ModelInfo => ({
  ref: `llama:/models/${name}.gguf`,
  name,
  backend: 'llama',
  source: 'lmstudio',
  location: `/models/${name}.gguf`,
  sizeBytes: sizeMiB * 1024 * 1024,
  local: true,
});

describe('firstRunTeam', () => {
  const report = fixture('cpu-only-8gb.json');
  const plan = planInference(report);

  it('uses the largest model on disk that fits the budget', () => {
    const team = firstRunTeam({
      plan,
      report,
      discovered: [
        gguf('qwen2.5-0.5b-instruct-q4_k_m', 400),
        gguf('Llama-3.2-3B-Instruct-Q4_K_M', 1900),
        gguf('huge-70b', 40_000),
      ],
    });
    expect(team.bots).toHaveLength(1);
    expect(team.bots[0]).toMatchObject({
      id: 'llama',
      displayName: 'Llama',
      model: 'llama:/models/Llama-3.2-3B-Instruct-Q4_K_M.gguf',
      localOnly: true,
    });
    expect(team.reason).toMatch(/found on disk/);
  });

  it('falls back to the recommended hf: model, downloaded on first use', () => {
    const team = firstRunTeam({ plan, report, discovered: [] });
    expect(team.bots[0]!.model).toBe(`llama:${plan.recommended.llama}`);
    expect(team.reason).toMatch(/recommended/);
  });

  it('uses an Ollama model when the plan prefers Ollama', () => {
    const withOllama: HardwareReport = {
      ...report,
      ollama: { url: 'http://127.0.0.1:11434', reachable: true, version: '0.12.0', models: [{ name: 'mistral:7b' }] },
    };
    const p = planInference(withOllama, { preferOllama: true });
    const team = firstRunTeam({ plan: p, report: withOllama, discovered: [] });
    expect(team.bots[0]).toMatchObject({ displayName: 'Mistral', model: 'ollama:mistral:7b' });
  });

  it.each([
    ['qwen2.5-1.5b-instruct-q4_k_m', 'Qwen'],
    ['Meta-Llama-3.1-8B', 'Llama'],
    ['deepseek-r1-distill', 'DeepSeek'],
    ['my-model', 'Assistant'],
  ])('names %s as %s', (model, name) => {
    expect(friendlyName(model)).toBe(name);
  });
});
