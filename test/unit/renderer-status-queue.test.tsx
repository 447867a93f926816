// @vitest-environment jsdom
// The status panel shows, per bot, what waits, what is being answered and what was refused with a notice.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, screen, waitFor } from '@testing-library/react';
import type { AppStatus } from '../../main/common/contract.ts';
import { queueText, StatusPanel } from '../../renderer/src/panels/status-panel.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

const status: AppStatus = {
  phase: 'running',
  services: [],
  homeserver: { mode: 'bundled' },
  inference: { backend: 'cpu', loadedModels: [] },
  bots: [
    {
      id: 'ada',
      displayName: 'Ada',
      model: 'llama:/m/tiny.gguf',
      busy: true,
      queued: 5,
      running: 1,
      refused: 2,
      stats: { replies: 3 },
    },
    {
      id: 'bo',
      displayName: 'Bo',
      model: 'llama:/m/tiny.gguf',
      busy: false,
      queued: 0,
      running: 0,
      refused: 0,
      stats: { replies: 0 },
    },
  ],
  botsPaused: false,
  loopGuardTrips: 0,
} as unknown as AppStatus;

describe('status panel queue column', () => {
  it.each([
    [{}, '—'],
    [{ queued: 0, running: 0, refused: 0 }, '—'],
    [{ queued: 3 }, '3 waiting'],
    [{ running: 1, queued: 2, refused: 4 }, '1 answering · 2 waiting · 4 refused'],
  ])('queueText(%j) = %s', (counts, text) => expect(queueText(counts)).toBe(text));

  it('renders each bot with its queue', async () => {
    const { api } = fakeApi({ 'status.get': () => status });
    renderWithApi(api, <StatusPanel status={status} />);
    await waitFor(() =>
      expect(screen.getByTestId('queue-ada').textContent).toBe('1 answering · 5 waiting · 2 refused'),
    );
    expect(screen.getByTestId('queue-bo').textContent).toBe('—');
  });
});

describe('status panel: tasks and spend', () => {
  it('shows per task the requests, where they went and the median time, and each endpoint against its budget', async () => {
    const withFigures = {
      ...status,
      inference: {
        ...status.inference,
        tasks: [
          {
            task: 'code_review',
            requests: 3,
            local: 2,
            cloud: 1,
            unanswered: 0,
            models: { 'llama:/m/coder.gguf': 2, 'openai:cloud/gpt-4o': 1 },
            p50Ms: 812.4,
          },
        ],
        spend: [{ endpoint: 'cloud', today: 1.2, month: 3.5, daily: 1, monthly: undefined, currency: 'USD' }],
      },
    } as AppStatus;
    const { api } = fakeApi({ 'status.get': () => withFigures });
    renderWithApi(api, <StatusPanel status={withFigures} />);
    const row = await screen.findByTestId('task-code_review');
    expect(row.textContent).toContain('3');
    expect(row.textContent).toContain('2 / 1');
    expect(row.textContent).toContain('812 ms');
    expect(row.textContent).toContain('×2');
    expect(screen.getByTestId('spend-cloud').textContent).toBe(
      'today 1.20 USD of 1.00 USD, this month 3.50 USD · budget spent: answered by the next model in the chain',
    );
  });
});
