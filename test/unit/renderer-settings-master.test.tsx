// @vitest-environment jsdom
// Settings → Tasks, Classifier, Pipelines and Cloud endpoints: edited in the window, saved through settings.update
// (validated here by the real applySettingsPatch, as the core does), the server's issues shown next to the fields they
// name, and what the person typed kept after a refused save and across a settings event.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { applySettingsPatch, type ModelInfo, type SettingsPatch } from '../../main/common/contract.ts';
import { settingsSchema, type Settings } from '../../main/common/settings-schema.ts';
import { ApiContext } from '../../renderer/src/hooks/control.ts';
import { EndpointsCard } from '../../renderer/src/panels/settings-endpoints.tsx';
import { SettingsPanel } from '../../renderer/src/panels/settings-panel.tsx';
import { PipelinesCard, schemaError } from '../../renderer/src/panels/settings-pipelines.tsx';
import { ClassifierCard, TasksCard } from '../../renderer/src/panels/settings-tasks.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

function initial(): Settings {
  return settingsSchema.parse({
    bots: [{ id: 'writer', displayName: 'Writer', model: 'ollama:qwen2.5', task: 'code_review' }],
    tasks: [{ name: 'code_review', models: ['ollama:qwen2.5', 'openai:cloud/gpt-4'], reason: 'code' }],
    endpoints: { openai: [{ id: 'cloud', url: 'https://api.example.com/v1', timeoutMs: 30_000 }] },
  });
}

const models: ModelInfo[] = [
  { ref: 'ollama:gemma2:2b', name: 'gemma2:2b', backend: 'ollama', source: 'ollama', location: 'x', local: true },
];

/** A fake core whose settings.update validates and stores as the real one does. */
function core(start = initial()) {
  let stored = start;
  const fake = fakeApi({
    'settings.update': (patch) => (stored = applySettingsPatch(stored, patch as SettingsPatch)),
    'models.list': () => models,
  });
  const updates = () => fake.calls.filter((c) => c[0] === 'settings.update').map((c) => c[1]);
  return { ...fake, stored: () => stored, updates };
}

const type = (el: HTMLElement, value: string) => fireEvent.change(el, { target: { value } });
const click = (name: string | RegExp, scope: HTMLElement = document.body) =>
  fireEvent.click(within(scope).getByRole('button', { name }));

describe('Settings → Tasks', () => {
  it('adds a task; a refused name is marked at its field and nothing typed is lost, even across a settings event', async () => {
    const c = core();
    const { rerender } = renderWithApi(c.api, <TasksCard settings={initial()} />);
    click('Add a task');
    const task = screen.getByRole('group', { name: 'New task' });
    type(within(task).getByLabelText('Name'), 'Customer Email');
    type(within(task).getByLabelText('Model 1'), 'ollama:gemma2:2b');
    type(within(task).getByLabelText(/^Reason/), 'Best writing');
    click('Save tasks');
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(
      /^Not saved: These settings are not valid; nothing was changed\..*What you typed is kept\.$/,
    );
    const group = screen.getByRole('group', { name: 'Customer Email' });
    expect(within(group).getByText(/use lower-case letters, digits and _ \. -/)).toBeTruthy();
    // A settings event (another window saved something) does not replace a changed draft.
    rerender(
      <ApiContext.Provider value={c.api}>
        <TasksCard settings={{ ...initial(), ui: { ...initial().ui, theme: 'dark' } }} />
      </ApiContext.Provider>,
    );
    expect((within(group).getByLabelText('Name') as HTMLInputElement).value).toBe('Customer Email');
    expect((within(group).getByLabelText(/^Reason/) as HTMLInputElement).value).toBe('Best writing');

    type(within(group).getByLabelText('Name'), 'customer_email');
    click('Save tasks');
    await screen.findByText('Saved.');
    expect(c.stored().tasks).toEqual([
      { name: 'code_review', models: ['ollama:qwen2.5', 'openai:cloud/gpt-4'], reason: 'code' },
      { name: 'customer_email', models: ['ollama:gemma2:2b'], reason: 'Best writing' },
    ]);
  });

  it('orders, adds and removes models; a task a bot uses cannot go, and says which bot', async () => {
    const c = core();
    renderWithApi(c.api, <TasksCard settings={initial()} />);
    const task = screen.getByRole('group', { name: 'code_review' });
    click('Move model 2 up', task);
    click('Add a model', task);
    type(within(task).getByLabelText('Model 3'), 'ollama:gemma2:2b');
    click('Remove model 2', task);
    click('Save tasks');
    await screen.findByText('Saved.');
    expect(c.stored().tasks[0]!.models).toEqual(['openai:cloud/gpt-4', 'ollama:gemma2:2b']);

    click('Remove task code_review');
    click('Save tasks');
    expect(
      await screen.findByText('Bot "writer", task: no task is called "code_review" (tasks: none yet)'),
    ).toBeTruthy();
    expect(c.stored().tasks).toHaveLength(1);
    click('Undo changes');
    expect(screen.getByRole('group', { name: 'code_review' })).toBeTruthy();
  });
});

describe('Settings → Classifier', () => {
  it('sets the model and time cap, marks a time cap out of range, and clears the model (rules only)', async () => {
    const c = core();
    renderWithApi(c.api, <ClassifierCard settings={initial()} />);
    type(screen.getByLabelText('Classifier model'), 'ollama:gemma2:2b');
    type(screen.getByLabelText(/^Time cap/), '10');
    click('Save classifier');
    expect(await screen.findByText(/Too small: expected number to be >=50/)).toBeTruthy();
    expect((screen.getByLabelText('Classifier model') as HTMLInputElement).value).toBe('ollama:gemma2:2b');
    type(screen.getByLabelText(/^Time cap/), '1500');
    click('Save classifier');
    await screen.findByText('Saved.');
    expect(c.stored().routing.classifier).toEqual({ model: 'ollama:gemma2:2b', timeoutMs: 1500 });
    // Suggestions come from the models the app knows.
    expect(document.querySelector('#classifier-model-options option[value="ollama:gemma2:2b"]')).not.toBeNull();

    type(screen.getByLabelText('Classifier model'), '');
    click('Save classifier');
    await waitFor(() => expect(c.stored().routing.classifier).toEqual({ timeoutMs: 1500 }));
    expect(c.updates().at(-1)).toEqual({ routing: { classifier: { model: null, timeoutMs: 1500 } } });
  });
});

describe('Settings → Pipelines', () => {
  it('shows a JSON schema parse error at once and sends nothing until it is fixed; then saves every field', async () => {
    const c = core();
    renderWithApi(c.api, <PipelinesCard settings={initial()} />);
    click('Add a pipeline');
    const pipeline = screen.getByRole('group', { name: 'New pipeline' });
    type(within(pipeline).getByLabelText('Name'), 'triage');
    type(within(pipeline).getByLabelText('Stage name'), 'classify');
    type(within(pipeline).getByLabelText('Model of stage 1'), 'ollama:gemma2:2b');
    type(within(pipeline).getByLabelText(/^Prompt/), 'Classify: {{input}}');
    const schema = within(pipeline).getByLabelText(/^JSON schema/);
    type(schema, '{"type": "object", "properties": {"category": ');
    expect(within(pipeline).getByText(/^Not valid JSON: /)).toBeTruthy();
    click('Save pipelines');
    expect((await screen.findByRole('alert')).textContent).toMatch(
      /^Not saved: the JSON schema of stage "classify" in pipeline "triage" is not usable \(Not valid JSON: .*\) Fix it or empty the field; what you typed is kept\.$/,
    );
    expect(c.updates()).toEqual([]);

    type(schema, '{"type": "object", "properties": {"category": {"type": "string"}}}');
    expect(within(pipeline).queryByText(/^Not valid JSON/)).toBeNull();
    click('Add a stage', pipeline);
    const second = within(pipeline).getByRole('listitem', { name: 'Stage 2: stage-2' });
    fireEvent.click(within(second).getByLabelText('A bot'));
    fireEvent.change(within(second).getByLabelText('Bot of stage 2'), { target: { value: 'writer' } });
    type(within(second).getByLabelText(/^Condition/), "category == 'complex'");
    click('Save pipelines');
    await screen.findByText('Saved.');
    expect(c.stored().pipelines).toEqual([
      {
        name: 'triage',
        stages: [
          {
            name: 'classify',
            model: 'ollama:gemma2:2b',
            prompt: 'Classify: {{input}}',
            schema: { type: 'object', properties: { category: { type: 'string' } } },
          },
          { name: 'stage-2', bot: 'writer', prompt: '{{previous}}', condition: "category == 'complex'" },
        ],
      },
    ]);
  });

  it("marks the server's issues on the stage and field they name", async () => {
    const c = core();
    renderWithApi(c.api, <PipelinesCard settings={initial()} />);
    click('Add a pipeline');
    const pipeline = screen.getByRole('group', { name: 'New pipeline' });
    type(within(pipeline).getByLabelText('Name'), 'p');
    click('Add a stage', pipeline);
    type(within(pipeline).getAllByLabelText('Stage name')[1]!, 'stage-1');
    click('Save pipelines');
    const first = await screen.findByRole('listitem', { name: 'Stage 1: stage-1' });
    expect(within(first).getByText('a stage needs a model or a bot')).toBeTruthy();
    const second = screen.getByRole('listitem', { name: 'Stage 2: stage-1' });
    expect(within(second).getByText('two stages are called "stage-1"')).toBeTruthy();
    expect(c.stored().pipelines).toEqual([]);
  });

  it('keeps the fields of a stage that the card does not show, and removes a condition left empty', async () => {
    const s = initial();
    // A field a later schema adds (the stage's token limit): the card must send it back as it was.
    const stage = { name: 'one', model: 'ollama:qwen2.5', prompt: '{{input}}', condition: 'true', maxTokens: 300 };
    s.pipelines = [{ name: 'p', stages: [stage] }] as Settings['pipelines'];
    const c = core(s);
    renderWithApi(c.api, <PipelinesCard settings={s} />);
    const item = screen.getByRole('listitem', { name: 'Stage 1: one' });
    type(within(item).getByLabelText(/^Prompt/), 'Short: {{input}}');
    type(within(item).getByLabelText(/^Condition/), '');
    click('Save pipelines');
    await screen.findByText('Saved.');
    expect(c.updates()).toEqual([
      {
        pipelines: [
          { name: 'p', stages: [{ name: 'one', model: 'ollama:qwen2.5', prompt: 'Short: {{input}}', maxTokens: 300 }] },
        ],
      },
    ]);
  });

  it.each([
    ['', undefined],
    ['{"type":"object"}', undefined],
    ['[1]', 'A JSON schema is an object ({"type": "object", …}).'],
    ['{', expect.stringMatching(/^Not valid JSON: /)],
  ])('schemaError(%j)', (text, expected) => {
    expect(schemaError(text)).toEqual(expected);
  });
});

describe('Settings → Cloud endpoints', () => {
  it('sets prices per model and the budget, keeping the fields the card does not show', async () => {
    const c = core();
    renderWithApi(c.api, <EndpointsCard settings={initial()} />);
    const endpoint = screen.getByRole('group', { name: 'cloud' });
    click('Add a price', endpoint);
    type(within(endpoint).getByLabelText('Model of price 1'), 'gpt-4');
    type(within(endpoint).getByLabelText('Input price 1'), '-1');
    type(within(endpoint).getByLabelText('Output price 1'), '60');
    type(within(endpoint).getByLabelText('Per day (UTC)'), '5');
    type(within(endpoint).getByLabelText('Per month'), '100');
    type(within(endpoint).getByLabelText('Currency'), 'EUR');
    type(within(endpoint).getByLabelText(/^API key from/), 'env:CLOUD_KEY');
    click('Save endpoints');
    expect(await within(endpoint).findByText(/Too small: expected number to be >=0/)).toBeTruthy();
    expect((within(endpoint).getByLabelText('Input price 1') as HTMLInputElement).value).toBe('-1');

    type(within(endpoint).getByLabelText('Input price 1'), '30');
    click('Save endpoints');
    await screen.findByText('Saved.');
    expect(c.stored().endpoints.openai).toEqual([
      {
        id: 'cloud',
        url: 'https://api.example.com/v1',
        apiKeyRef: 'env:CLOUD_KEY',
        requestsPerMinute: 100,
        timeoutMs: 30_000,
        failover: [],
        prices: { 'gpt-4': { input: 30, output: 60 } },
        budget: { daily: 5, monthly: 100, currency: 'EUR' },
      },
    ]);
  });

  it('refuses two prices for one model before sending, and says so', async () => {
    const c = core();
    renderWithApi(c.api, <EndpointsCard settings={initial()} />);
    const endpoint = screen.getByRole('group', { name: 'cloud' });
    click('Add a price', endpoint);
    click('Add a price', endpoint);
    for (const n of [1, 2]) {
      type(within(endpoint).getByLabelText(`Model of price ${n}`), '*');
      type(within(endpoint).getByLabelText(`Input price ${n}`), '1');
      type(within(endpoint).getByLabelText(`Output price ${n}`), '2');
    }
    click('Save endpoints');
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Not saved: endpoint "cloud" has two prices for "*": keep one. What you typed is kept.',
    );
    expect(c.updates()).toEqual([]);
  });

  it('warns about the placeholder address an AIMatrix import leaves', () => {
    const s = initial();
    s.endpoints.openai[0]!.url = 'https://cloud.invalid/v1';
    renderWithApi(core(s).api, <EndpointsCard settings={s} />);
    expect(
      screen.getByText(/This address is a placeholder from an import: set the endpoint's URL and key\./),
    ).toBeTruthy();
  });
});

describe('<SettingsPanel>', () => {
  it('holds the tasks, classifier, pipelines and cloud endpoints cards', async () => {
    const c = core();
    renderWithApi(c.api, <SettingsPanel settings={initial()} desktop={false} />);
    for (const name of ['Tasks', 'Classifier', 'Pipelines', 'Cloud endpoints'])
      expect(await screen.findByRole('heading', { name })).toBeTruthy();
  });
});
