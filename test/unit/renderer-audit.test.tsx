// @vitest-environment jsdom
// The Audit panel: the calls audit.list answers, newest first, with who, task, model, where, sensitive kinds,
// tokens, time, cost, outcome and why; the period and bot filters asked of the core, the text filter here; read
// again when a bot replies; an error said in words.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { ControlError, type AuditCall } from '../../main/common/contract.ts';
import { defaultSettings, settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import {
  auditMatches,
  AuditPanel,
  formatCost,
  formatDuration,
  outcomeText,
} from '../../renderer/src/panels/audit-panel.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

function settings(): Settings {
  return settingsSchema.parse({
    bots: [
      { id: 'qwen', displayName: 'Qwen', model: 'ollama:qwen2.5' },
      { id: 'writer', displayName: 'Writer', model: 'openai:cloud/gpt-4' },
    ],
    endpoints: { openai: [{ id: 'cloud', url: 'https://x.example/v1', budget: { daily: 5, currency: 'EUR' } }] },
  });
}

function call(over: Partial<AuditCall>): AuditCall {
  return {
    id: 1,
    at: Date.UTC(2026, 0, 31, 12, 0, 0),
    roomId: '!r:x',
    eventId: '$e',
    botId: 'qwen',
    task: null,
    model: 'ollama:qwen2.5',
    backend: 'ollama',
    endpoint: 'local',
    local: true,
    sensitive: [],
    promptTokens: 40,
    completionTokens: 12,
    durationMs: 850,
    cost: null,
    reason: "the bot's own model",
    outcome: 'ok',
    errorCode: null,
    ...over,
  };
}

const calls: AuditCall[] = [
  call({ id: 1, sensitive: ['card'], reason: 'local because the request holds card' }),
  call({
    id: 2,
    botId: 'writer',
    task: 'customer_email',
    model: 'openai:cloud/gpt-4',
    backend: 'openai',
    endpoint: 'cloud',
    local: false,
    durationMs: 2400,
    cost: 0.0031,
    reason: 'task customer_email',
  }),
  call({ id: 3, outcome: 'failed', errorCode: 'timeout', promptTokens: null, completionTokens: null }),
];

const cells = (row: HTMLElement) =>
  within(row)
    .getAllByRole('cell')
    .map((c) => c.textContent);

describe('<AuditPanel>', () => {
  it('lists the calls newest first with every column', async () => {
    const { api, calls: made } = fakeApi({ 'audit.list': () => calls });
    renderWithApi(api, <AuditPanel settings={settings()} />);
    const table = await screen.findByRole('table', { name: 'Model calls' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.getAttribute('data-call-id'))).toEqual(['3', '2', '1']);
    expect(cells(rows[1]!).slice(1)).toEqual([
      'Writer',
      'customer_email',
      'gpt-4',
      'cloud',
      '—',
      '40 → 12',
      '2.4 s',
      '0.0031 EUR',
      'ok',
      'task customer_email',
    ]);
    expect(cells(rows[2]!).slice(1, 6)).toEqual(['Qwen', '—', 'qwen2.5', 'local', 'card']);
    expect(cells(rows[0]!)[6]).toBe('—');
    expect(cells(rows[0]!)[9]).toBe('failed (timeout)');
    expect(screen.getByText('3 calls: 2 on this computer, 1 in the cloud.')).toBeTruthy();
    // The last 24 hours by default, the newest 500.
    const [, request] = made.find((c) => c[0] === 'audit.list')!;
    expect(request).toMatchObject({ limit: 500, since: expect.any(Number) });
    expect((request as { bot?: string }).bot).toBeUndefined();
  });

  it('asks the core again for another period or bot, and filters by text here', async () => {
    const { api, calls: made } = fakeApi({
      'audit.list': (req) => calls.filter((c) => !req?.bot || c.botId === req.bot),
    });
    renderWithApi(api, <AuditPanel settings={settings()} />);
    await screen.findByRole('table', { name: 'Model calls' });
    fireEvent.change(screen.getByLabelText('Bot'), { target: { value: 'writer' } });
    await waitFor(() => expect(screen.getAllByRole('row')).toHaveLength(2));
    fireEvent.change(screen.getByLabelText('Period'), { target: { value: 'all' } });
    await waitFor(() => expect(made.at(-1)).toEqual(['audit.list', { limit: 500, bot: 'writer' }]));
    fireEvent.change(screen.getByLabelText('Bot'), { target: { value: '' } });
    await waitFor(() => expect(screen.getAllByRole('row')).toHaveLength(4));
    fireEvent.change(screen.getByLabelText('Filter'), { target: { value: 'CARD' } });
    expect(
      screen
        .getAllByRole('row')
        .slice(1)
        .map((r) => r.getAttribute('data-call-id')),
    ).toEqual(['1']);
    expect(screen.getByText('1 of 3 calls: 1 on this computer, 0 in the cloud.')).toBeTruthy();
  });

  it('reads the list again when a bot replies', async () => {
    let list = calls.slice(0, 1);
    const { api, emit } = fakeApi({ 'audit.list': () => list });
    renderWithApi(api, <AuditPanel settings={settings()} />);
    await screen.findByText('1 call: 1 on this computer, 0 in the cloud.');
    list = calls;
    emit('bots.replied', { botId: 'qwen', displayName: 'Qwen', roomId: '!r:x', eventId: '$r', preview: 'hi' });
    await screen.findByText('3 calls: 2 on this computer, 1 in the cloud.');
  });

  it('says when there is nothing, when the audit is off, and what failed', async () => {
    const off = settings();
    off.audit.enabled = false;
    const { api } = fakeApi({ 'audit.list': () => [] });
    renderWithApi(api, <AuditPanel settings={off} />);
    await screen.findByText('No model calls in this period.');
    expect(screen.getByText(/The audit trail is off, so new calls are not recorded/)).toBeTruthy();
    cleanup();
    const failing = fakeApi({
      'audit.list': () => {
        throw new ControlError('Unavailable', 'The audit trail needs node:sqlite, which this Node lacks.', {
          hint: 'Run agent-room serve with Node 22.13 or newer.',
        });
      },
    });
    renderWithApi(failing.api, <AuditPanel settings={defaultSettings()} />);
    expect((await screen.findByRole('alert')).textContent).toBe(
      'The audit trail could not be read: The audit trail needs node:sqlite, which this Node lacks. Run agent-room serve with Node 22.13 or newer.',
    );
  });

  it('formats durations and costs, and matches text in every listed field', () => {
    expect(outcomeText({ outcome: 'aborted', errorCode: 'Aborted' })).toBe('aborted');
    expect(outcomeText({ outcome: 'failed', errorCode: 'timeout' })).toBe('failed (timeout)');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(2400)).toBe('2.4 s');
    expect(formatCost(0.0031, 'USD')).toBe('0.0031 USD');
    expect(formatCost(1.5, 'EUR')).toBe('1.50 EUR');
    expect(formatCost(0, 'USD')).toBe('0.00 USD');
    expect(auditMatches(calls[1]!, 'cloud')).toBe(true);
    expect(auditMatches(calls[1]!, 'local')).toBe(false);
    expect(auditMatches(calls[2]!, 'timeout')).toBe(true);
    expect(auditMatches(calls[0]!, '  ')).toBe(true);
  });
});
