// @vitest-environment jsdom
// The model manager: a download's progress bar follows models.progress events; cancel and assign call the API.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import type { BotInfo, ModelInfo, PullJob } from '../../main/common/contract.ts';
import { useJobs } from '../../renderer/src/hooks/control.ts';
import { ModelsPanel } from '../../renderer/src/panels/models-panel.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

const bot: BotInfo = {
  config: {
    id: 'qwen',
    displayName: 'Qwen',
    model: 'ollama:qwen2.5',
    systemPrompt: '',
    temperature: 0.7,
    maxTokens: 256,
    localOnly: false,
    keepAliveSeconds: 0,
    pinned: false,
    fallback: [],
  },
  userId: '@qwen:s',
  status: { id: 'qwen', displayName: 'Qwen', model: 'ollama:qwen2.5', busy: false, stats: { replies: 0 } },
  availableModels: ['ollama:qwen2.5', 'llama:/models/tiny.gguf'],
};
const models: ModelInfo[] = [
  {
    ref: 'llama:/models/tiny.gguf',
    name: 'tiny',
    backend: 'llama',
    source: 'file',
    location: '/models/tiny.gguf',
    sizeBytes: 524288,
    local: true,
  },
  {
    ref: 'ollama:qwen2.5',
    name: 'qwen2.5',
    backend: 'ollama',
    source: 'ollama',
    location: 'http://127.0.0.1:11434',
    local: true,
  },
];

function Harness({ onBotsChanged }: { onBotsChanged: () => void }) {
  const jobs = useJobs();
  return <ModelsPanel bots={[bot]} jobs={jobs} onBotsChanged={onBotsChanged} />;
}

describe('<ModelsPanel>', () => {
  it('shows a download progress bar that moves with progress events, and cancels', async () => {
    const { api, emit, calls } = fakeApi({
      'models.list': () => models,
      'models.jobs': () => [],
      'models.pull': () => ({ jobId: 'job-1' }),
      'models.cancel': () => ({ cancelled: true }),
    });
    renderWithApi(api, <Harness onBotsChanged={() => undefined} />);
    await screen.findByText('Downloaded');
    expect(screen.getByText('Ollama')).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Download or pull a model'), {
      target: { value: 'http://127.0.0.1:9/big.gguf' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Download' }));
    await waitFor(() => expect(calls).toContainEqual(['models.pull', { ref: 'http://127.0.0.1:9/big.gguf' }]));

    const job = (fraction: number, state: PullJob['state'] = 'running'): PullJob => ({
      jobId: 'job-1',
      ref: 'http://127.0.0.1:9/big.gguf',
      state,
      progress: { status: 'downloading', fraction, transferredBytes: fraction * 4 * 2 ** 20, totalBytes: 4 * 2 ** 20 },
    });
    emit('models.progress', job(0.1));
    const bar = screen.getByRole('progressbar', { name: 'Download of http://127.0.0.1:9/big.gguf' });
    expect(bar.getAttribute('aria-valuenow')).toBe('10');
    emit('models.progress', job(0.55));
    expect(bar.getAttribute('aria-valuenow')).toBe('55');
    expect(screen.getByText(/55% · 2\.2 MiB of 4\.0 MiB/)).toBeTruthy();
    expect((bar.firstChild as HTMLElement).style.width).toBe('55%');

    fireEvent.click(screen.getByRole('button', { name: 'Cancel download of http://127.0.0.1:9/big.gguf' }));
    await waitFor(() => expect(calls).toContainEqual(['models.cancel', { jobId: 'job-1' }]));
    emit('models.progress', job(0.55, 'cancelled'));
    expect(screen.queryByRole('progressbar')).toBeNull();
  });

  it('assigns a model to a bot', async () => {
    const onBotsChanged = vi.fn();
    const { api, calls } = fakeApi({
      'models.list': () => models,
      'models.jobs': () => [],
      'bots.setModel': (req) => ({ ...bot, config: { ...bot.config, model: req.model } }),
    });
    renderWithApi(api, <Harness onBotsChanged={onBotsChanged} />);
    await screen.findByText('tiny');
    fireEvent.click(screen.getByRole('button', { name: 'Use tiny for the selected bot' }));
    await screen.findByText('Qwen now uses tiny.');
    expect(calls).toContainEqual(['bots.setModel', { botId: 'qwen', model: 'llama:/models/tiny.gguf' }]);
    expect(onBotsChanged).toHaveBeenCalled();
  });
});
