// @vitest-environment jsdom
// First run: the bots waiting for the recommended model get the model the person downloaded instead;
// the screen shows the probe, the waiting model and the download's progress.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import type { ProbeResult, PullJob } from '../../main/common/contract.ts';
import { defaultSettings, type BotConfig, type Settings } from '../../main/common/settings-schema.ts';
import { useJobs } from '../../renderer/src/hooks/control.ts';
import { teamWithModel } from '../../renderer/src/lib/first-run.ts';
import { FirstRun } from '../../renderer/src/panels/first-run.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

const HF = 'llama:hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M';
const bot = (id: string, model: string): BotConfig => ({
  id,
  displayName: id,
  model,
  systemPrompt: '',
  temperature: 0.7,
  maxTokens: 900,
  localOnly: true,
  keepAliveSeconds: 300,
  pinned: false,
  fallback: [],
});

describe('teamWithModel', () => {
  const url = 'http://127.0.0.1:9/m.gguf';
  it.each([
    {
      name: 'no bot yet: one new bot with the model',
      bots: [],
      waiting: [],
      want: [{ id: 'm', displayName: 'M', model: url }],
    },
    {
      name: 'the waiting bot switches, keeping its other settings',
      bots: [bot('qwen', HF)],
      waiting: [HF],
      want: [{ ...bot('qwen', url) }],
    },
    {
      name: 'a bot with a usable model stays as it is',
      bots: [bot('qwen', HF), bot('phi', 'llama:/m/phi.gguf')],
      waiting: [HF],
      want: [bot('qwen', url), bot('phi', 'llama:/m/phi.gguf')],
    },
    {
      name: 'nothing waits (the core already gave the bot the file): unchanged',
      bots: [bot('qwen', 'llama:/m/q.gguf')],
      waiting: [],
      want: [bot('qwen', 'llama:/m/q.gguf')],
    },
  ])('$name', ({ bots, waiting, want }) => {
    expect(teamWithModel(bots, url, waiting, { id: 'm', displayName: 'M' })).toEqual(want);
  });
});

const probe: ProbeResult = {
  report: {
    os: { platform: 'linux', release: '12', arch: 'x64', appleSilicon: false },
    cpu: { model: 'Test CPU', cores: 2 },
    memory: { totalBytes: 8 * 2 ** 30 },
    gpus: [],
  },
  plan: {
    backend: 'cpu',
    threads: 1,
    gpuLayers: 0,
    maxLoadedModels: 1,
    memoryBudgetMiB: 4096,
    recommendedModels: [HF],
    reasons: ['No GPU found.'],
  },
};

function firstRunApi(settings: Settings, jobs: PullJob[] = []) {
  return fakeApi({
    'probe.get': () => probe,
    'models.jobs': () => jobs,
    'models.pull': () => ({ jobId: 'job-1' }),
    'settings.get': () => settings,
    'settings.update': (patch) => ({ ...settings, ...(patch as Partial<Settings>) }),
  });
}

function Screen({ onDone }: { onDone: (s: Settings) => void }) {
  const jobs = useJobs();
  return <FirstRun jobs={jobs} waiting={{ modelsToDownload: [HF], reason: 'No model on disk.' }} onDone={onDone} />;
}

describe('FirstRun', () => {
  it('downloads another model with a progress bar, then gives it to the bot waiting for the recommended one', async () => {
    const settings = { ...defaultSettings(), bots: [bot('qwen', HF)] };
    const { api, emit, calls } = firstRunApi(settings);
    const onDone = vi.fn();
    renderWithApi(api, <Screen onDone={onDone} />);
    await screen.findByText('cpu, 1 thread');
    expect(screen.getByText(HF)).toBeTruthy();
    expect(screen.getByText('No model on disk.')).toBeTruthy();

    const url = 'http://127.0.0.1:9/other.gguf';
    fireEvent.change(screen.getByLabelText('Another model (hf:, URL or ollama:)'), { target: { value: url } });
    fireEvent.click(screen.getByRole('button', { name: 'Download' }));
    await waitFor(() => expect(calls).toContainEqual(['models.pull', { ref: url }]));
    const job = (state: PullJob['state'], fraction: number): PullJob => ({
      jobId: 'job-1',
      ref: url,
      state,
      progress: { status: 'downloading', fraction },
    });
    emit('models.progress', job('running', 0.4));
    expect(screen.getByRole('progressbar', { name: 'Download of other' }).getAttribute('aria-valuenow')).toBe('40');
    expect(screen.queryByRole('button', { name: 'Download and start' })).toBeNull();

    emit('models.progress', job('done', 1));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    const update = calls.find(([c]) => c === 'settings.update')![1] as { bots: BotConfig[] };
    expect(update.bots).toEqual([{ ...bot('qwen', url) }]);
  });

  it('follows the download the core started for the recommended model, and keeps the button for another try', async () => {
    const settings = { ...defaultSettings(), bots: [bot('qwen', HF)] };
    const auto = (state: PullJob['state'], fraction: number, error?: string): PullJob => ({
      jobId: 'core-1',
      ref: HF,
      state,
      progress: { status: 'downloading', fraction },
      ...(error ? { error } : {}),
    });
    const { api, emit, calls } = firstRunApi(settings, [auto('running', 0.1)]);
    renderWithApi(api, <Screen onDone={vi.fn()} />);
    // No click: the screen shows the download the core began on its own.
    const bar = await screen.findByRole('progressbar', { name: 'Download of Qwen2.5-1.5B-Instruct:Q4_K_M' });
    expect(bar.getAttribute('aria-valuenow')).toBe('10');
    expect(screen.queryByRole('button', { name: 'Download and start' })).toBeNull();
    emit('models.progress', auto('running', 0.55));
    expect(bar.getAttribute('aria-valuenow')).toBe('55');

    emit('models.progress', auto('failed', 0.55, 'fetch failed'));
    expect(await screen.findByText('Failed: fetch failed')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Choose another model' }));
    // Put aside: the recommendation and its button are back.
    fireEvent.click(await screen.findByRole('button', { name: 'Download and start' }));
    await waitFor(() => expect(calls).toContainEqual(['models.pull', { ref: HF }]));
  });
});
