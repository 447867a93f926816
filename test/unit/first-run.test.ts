import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../main/common/inference-types.ts';
import { defaultSettings, type Settings } from '../../main/common/settings-schema.ts';
import type { PullJob } from '../../main/common/contract.ts';
import { FirstRunService, firstRunTeam, friendlyName } from '../../main/core/app/first-run.ts';
import { downloadForBots } from '../../main/core/app/model-download.ts';
import { planInference, type InferencePlan } from '../../main/core/probe/plan.ts';
import type { SettingsStore } from '../../main/core/settings/settings-store.ts';
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

  it('falls back to the recommended hf: model, which it says to download', () => {
    const team = firstRunTeam({ plan, report, discovered: [] });
    expect(team.bots[0]!.model).toBe(`llama:${plan.recommended.llama}`);
    expect(team.download).toBe(`llama:${plan.recommended.llama}`);
    expect(team.reason).toMatch(/recommended for this machine by the memory tier table/);
  });

  it("says when node-llama-cpp's estimate chose the model", () => {
    const picked: InferencePlan = {
      ...plan,
      recommendedBy: 'node-llama-cpp',
      recommended: {
        label: 'Qwen 3 4B Q4_K_M',
        llama: 'hf:Qwen/Qwen3-4B-GGUF:Q4_K_M',
        ollama: 'qwen3:4b',
        sizeMiB: 2384,
      },
    };
    const team = firstRunTeam({ plan: picked, report, discovered: [] });
    expect(team.bots[0]).toMatchObject({ displayName: 'Qwen', model: 'llama:hf:Qwen/Qwen3-4B-GGUF:Q4_K_M' });
    expect(team.reason).toMatch(
      /Qwen 3 4B Q4_K_M \(about 2384 MiB\) is recommended .* by node-llama-cpp's fit estimate/,
    );
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

/** Settings in memory, as the stores keep them. */
function memoryStore(initial: Settings): SettingsStore {
  let current = initial;
  return {
    get: () => structuredClone(current),
    set: (next) => void (current = next),
    update(fn) {
      current = fn(structuredClone(current));
      return current;
    },
    onChange: () => () => undefined,
    issues: [],
  };
}

describe('FirstRunService', () => {
  const report = fixture('cpu-only-8gb.json');
  const plan = planInference(report);

  async function firstRun(settings: Settings, discovered: ModelInfo[] = []) {
    const store = memoryStore(settings);
    const downloads: string[] = [];
    const setup = new FirstRunService({
      settings: store,
      getPlan: async () => ({ report, plan }),
      discover: async () => discovered,
      startDownload: (ref) => void downloads.push(ref),
    });
    await setup.start(new AbortController().signal);
    return { store, downloads, setup };
  }

  it('makes the team from the recommendation and starts downloading its model at once', async () => {
    const { store, downloads, setup } = await firstRun(defaultSettings());
    expect(store.get().bots.map((b) => b.model)).toEqual([`llama:${plan.recommended.llama}`]);
    expect(downloads).toEqual([`llama:${plan.recommended.llama}`]);
    expect(setup.state).toMatchObject({ status: 'running' });
  });

  it('waits for the window’s button when settings.ui.downloadRecommendedModel is off', async () => {
    const settings = defaultSettings();
    settings.ui.downloadRecommendedModel = false;
    const { store, downloads } = await firstRun(settings);
    expect(store.get().bots).toHaveLength(1);
    expect(downloads).toEqual([]);
  });

  it('downloads nothing when a model is on disk, or the team exists already', async () => {
    expect((await firstRun(defaultSettings(), [gguf('Llama-3.2-3B-Instruct-Q4_K_M', 1900)])).downloads).toEqual([]);
    const configured = { ...defaultSettings(), bots: [{ ...firstRunTeam({ plan, report, discovered: [] }).bots[0]! }] };
    expect((await firstRun(configured)).downloads).toEqual([]);
  });
});

describe('downloadForBots', () => {
  it('gives the downloaded file to the bots waiting for it once the job is done', () => {
    const ref = 'llama:hf:Qwen/Qwen3-4B-GGUF:Q4_K_M';
    const store = memoryStore({
      ...defaultSettings(),
      bots: firstRunTeam({
        plan: planInference(fixture('cpu-only-8gb.json')),
        report: fixture('cpu-only-8gb.json'),
        discovered: [],
      }).bots.map((b) => ({ ...b, model: ref })),
    });
    let done: ((job: PullJob, path?: string) => void) | undefined;
    let downloaded = false;
    const inference = {
      pull: (_ref: string, onDone?: (job: PullJob, path?: string) => void) => {
        done = onDone;
        return 'job-1';
      },
      resolveModelRef: (m: string) => (downloaded && m === ref ? 'llama:/models/Qwen3-4B-Q4_K_M.gguf' : m),
    };
    expect(downloadForBots(store, inference, ref)).toBe('job-1');
    done!({ jobId: 'job-1', ref, state: 'running', progress: { status: 'downloading', fraction: 0.5 } });
    expect(store.get().bots[0]!.model).toBe(ref);
    downloaded = true;
    done!(
      { jobId: 'job-1', ref, state: 'done', progress: { status: 'done', fraction: 1 } },
      '/models/Qwen3-4B-Q4_K_M.gguf',
    );
    expect(store.get().bots[0]!.model).toBe('llama:/models/Qwen3-4B-Q4_K_M.gguf');
  });
});
