// Settings → Cloud endpoints: each OpenAI-compatible endpoint's address and key reference, its prices per model (per
// million tokens, `*` for every other model) and its daily and monthly budget, which the router reads before a call.
import type { SettingsPatch } from '../../../main/common/contract.ts';
import type { Settings } from '../../../main/common/settings-schema.ts';
import {
  compact,
  Field,
  FieldIssues,
  kept,
  optionalNumber,
  optionalText,
  SaveRow,
  useSectionDraft,
  type Issues,
} from './settings-draft.tsx';

type Endpoint = Settings['endpoints']['openai'][number];
interface PriceRow {
  model: string;
  input: string;
  output: string;
}
export interface EndpointDraft {
  /** The stored endpoint: fields this card does not show (timeouts, failover) are kept from it. */
  original?: Endpoint;
  id: string;
  url: string;
  apiKeyRef: string;
  prices: PriceRow[];
  daily: string;
  monthly: string;
  currency: string;
}

const text = (n: number | undefined) => (n === undefined ? '' : String(n));

const toDraft = (s: Settings): EndpointDraft[] =>
  s.endpoints.openai.map((e) => ({
    original: e,
    id: e.id,
    url: e.url,
    apiKeyRef: e.apiKeyRef ?? '',
    prices: Object.entries(e.prices).map(([model, p]) => ({ model, input: String(p.input), output: String(p.output) })),
    daily: text(e.budget?.daily),
    monthly: text(e.budget?.monthly),
    currency: e.budget?.currency ?? 'USD',
  }));

/** Price rows need a model name each, once per endpoint (they become the keys of `prices`). */
function priceProblem(d: EndpointDraft): string | undefined {
  const names = d.prices.map((r) => r.model.trim());
  if (names.some((n) => n === ''))
    return `a price of endpoint "${d.id}" names no model: write the model (as after openai:${d.id}/), or * for every other model`;
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  return twice === undefined ? undefined : `endpoint "${d.id}" has two prices for "${twice}": keep one`;
}

type OpenAIPatch = NonNullable<NonNullable<SettingsPatch['endpoints']>['openai']>;

export function endpointsPatch(d: EndpointDraft[]): SettingsPatch | { refused: string } {
  const problem = d.map(priceProblem).find((p) => p !== undefined);
  if (problem) return { refused: `Not saved: ${problem}. What you typed is kept.` };
  return {
    endpoints: {
      openai: d.map((e) => {
        const limited = e.daily.trim() !== '' || e.monthly.trim() !== '';
        return compact({
          ...kept(e.original, ['budget', 'apiKeyRef']),
          id: e.id.trim(),
          url: e.url.trim(),
          apiKeyRef: optionalText(e.apiKeyRef),
          prices: Object.fromEntries(
            e.prices.map((r) => [
              r.model.trim(),
              compact({ input: optionalNumber(r.input), output: optionalNumber(r.output) }),
            ]),
          ),
          budget: limited
            ? compact({
                daily: optionalNumber(e.daily),
                monthly: optionalNumber(e.monthly),
                currency: optionalText(e.currency) ?? 'USD',
              })
            : undefined,
        });
      }) as OpenAIPatch, // a price left empty goes as undefined: the server names that field
    },
  };
}

const blank: EndpointDraft = { id: '', url: '', apiKeyRef: '', prices: [], daily: '', monthly: '', currency: 'USD' };

export function EndpointsCard({ settings, onSaved }: { settings: Settings; onSaved?: (s: Settings) => void }) {
  const section = useSectionDraft(settings, toDraft, endpointsPatch, onSaved);
  const { draft, edit, issues } = section;
  const change = (i: number, patch: Partial<EndpointDraft>) =>
    edit((d) => d.map((e, j) => (j === i ? { ...e, ...patch } : e)));
  return (
    <div className="card">
      <h2>Cloud endpoints</h2>
      <p className="muted">
        OpenAI-compatible endpoints (models named <code>openai:&lt;endpoint&gt;/&lt;model&gt;</code>): their address,
        where their key is found, what their models cost, and how much they may spend.
      </p>
      {draft.length === 0 && <p>No cloud endpoint yet: everything runs on this computer.</p>}
      {draft.map((e, i) => (
        <EndpointForm
          key={i}
          endpoint={e}
          path={`endpoints.openai.${i}`}
          issues={issues}
          onChange={(patch) => change(i, patch)}
          onRemove={() => edit((d) => d.filter((_, j) => j !== i))}
        />
      ))}
      <button type="button" className="button" onClick={() => edit((d) => [...d, { ...blank }])}>
        Add an endpoint
      </button>
      <SaveRow
        label="Save endpoints"
        section={section}
        settings={settings}
        other={issues.outside('endpoints.openai', /^\d+\.(id|url|apiKeyRef|prices|budget)(\.|$)/)}
      />
    </div>
  );
}

interface EndpointFormProps {
  endpoint: EndpointDraft;
  path: string;
  issues: Issues;
  onChange: (patch: Partial<EndpointDraft>) => void;
  onRemove: () => void;
}

function EndpointForm({ endpoint: e, path, issues, onChange, onRemove }: EndpointFormProps) {
  const field = (key: 'id' | 'url' | 'apiKeyRef', label: string, placeholder: string) => (
    <Field label={label} messages={issues.at(`${path}.${key}`)}>
      <input value={e[key]} placeholder={placeholder} onChange={(ev) => onChange({ [key]: ev.target.value })} />
    </Field>
  );
  return (
    <fieldset className="card">
      <legend>{e.id || 'New endpoint'}</legend>
      <div className="grid">
        {field('id', 'Id', 'openai')}
        {field('url', 'URL (up to /v1)', 'https://api.openai.com/v1')}
        {field('apiKeyRef', 'API key from (env:VARIABLE or a secret name, never the key)', 'env:OPENAI_API_KEY')}
      </div>
      {e.url.includes('.invalid') && (
        <p className="warn-text">This address is a placeholder from an import: set the endpoint&apos;s URL and key.</p>
      )}
      <PriceTable endpoint={e} path={path} issues={issues} onChange={onChange} />
      <h3>Budget</h3>
      <div className="grid">
        <BudgetField
          label="Per day (UTC)"
          value={e.daily}
          messages={issues.under(`${path}.budget.daily`)}
          onChange={(daily) => onChange({ daily })}
        />
        <BudgetField
          label="Per month"
          value={e.monthly}
          messages={issues.under(`${path}.budget.monthly`)}
          onChange={(monthly) => onChange({ monthly })}
        />
        <Field label="Currency" messages={issues.under(`${path}.budget.currency`)}>
          <input value={e.currency} onChange={(ev) => onChange({ currency: ev.target.value })} />
        </Field>
      </div>
      <FieldIssues messages={issues.at(`${path}.budget`)} />
      <button type="button" className="button button-danger" onClick={onRemove}>
        Remove endpoint {e.id}
      </button>
    </fieldset>
  );
}

function BudgetField(props: { label: string; value: string; messages: string[]; onChange: (v: string) => void }) {
  return (
    <Field label={props.label} messages={props.messages}>
      <input
        type="number"
        min={0}
        step="any"
        value={props.value}
        placeholder="no limit"
        onChange={(e) => props.onChange(e.target.value)}
      />
    </Field>
  );
}

/** Prices per million tokens, in the budget's currency: one row per model, `*` for the others. */
function PriceTable({ endpoint: e, path, issues, onChange }: Omit<EndpointFormProps, 'onRemove'>) {
  const set = (i: number, patch: Partial<PriceRow>) =>
    onChange({ prices: e.prices.map((r, j) => (j === i ? { ...r, ...patch } : r)) });
  const name = e.id || 'this endpoint';
  return (
    <>
      <h3>Prices per million tokens</h3>
      {e.prices.length > 0 && (
        <table className="table" aria-label={`Prices of ${name}`}>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Input</th>
              <th scope="col">Output</th>
              <th scope="col" aria-label="Remove" />
            </tr>
          </thead>
          <tbody>
            {e.prices.map((r, i) => (
              <tr key={i}>
                <td>
                  <input
                    aria-label={`Model of price ${i + 1}`}
                    value={r.model}
                    placeholder="gpt-4o or *"
                    onChange={(ev) => set(i, { model: ev.target.value })}
                  />
                  <FieldIssues messages={r.model.trim() ? issues.at(`${path}.prices.${r.model.trim()}`) : []} />
                </td>
                {(['input', 'output'] as const).map((k) => (
                  <td key={k}>
                    <input
                      type="number"
                      min={0}
                      step="any"
                      aria-label={`${k === 'input' ? 'Input' : 'Output'} price ${i + 1}`}
                      value={r[k]}
                      onChange={(ev) => set(i, { [k]: ev.target.value })}
                    />
                    <FieldIssues messages={issues.under(`${path}.prices.${r.model.trim()}.${k}`)} />
                  </td>
                ))}
                <td>
                  <button
                    type="button"
                    className="button"
                    aria-label={`Remove price ${i + 1}`}
                    onClick={() => onChange({ prices: e.prices.filter((_, j) => j !== i) })}
                  >
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button
        type="button"
        className="button"
        onClick={() => onChange({ prices: [...e.prices, { model: '', input: '', output: '' }] })}
      >
        Add a price
      </button>
    </>
  );
}
