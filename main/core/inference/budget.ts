// The cloud budget: what each call to an OpenAI-compatible endpoint cost (its prices per million tokens, the
// usage the endpoint reported), what was spent today and this month (UTC) per endpoint, and whether a model's
// endpoint may still be used. The spend before this start comes from the audit trail; later calls add to it.
import type { EndpointSpend } from '../../common/inference-types.ts';
import type { Settings } from '../../common/settings-schema.ts';

export type { EndpointSpend };

type Endpoint = Settings['endpoints']['openai'][number];

export interface SpendLedgerOptions {
  getEndpoints: () => readonly Endpoint[];
  /** What the endpoint's calls cost since a time (ms), from the audit trail; 0 when unknown. */
  spentSince?: (endpoint: string, since: number) => number;
  now?: () => number;
}

interface Period {
  day: string;
  month: string;
  today: number;
  thisMonth: number;
  /** The budget notice was given in this period. */
  noticed: string | undefined;
}

/** openai:<endpoint>/<model> → [endpoint, model]. */
export function splitOpenAIRef(ref: string): [string, string] | undefined {
  const m = /^openai:([^/]+)\/(.+)$/.exec(ref);
  return m ? [m[1] as string, m[2] as string] : undefined;
}

export function formatMoney(amount: number, currency: string): string {
  return `${amount < 0.01 && amount > 0 ? amount.toFixed(4) : amount.toFixed(2)} ${currency}`;
}

export class SpendLedger {
  readonly #options: SpendLedgerOptions;
  readonly #now: () => number;
  readonly #periods = new Map<string, Period>();

  constructor(options: SpendLedgerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
  }

  #endpoint(id: string): Endpoint | undefined {
    return this.#options.getEndpoints().find((e) => e.id === id);
  }

  /** The period's totals, started afresh (from the audit trail) at a new day or month. */
  #period(endpoint: string): Period {
    const iso = new Date(this.#now()).toISOString();
    const day = iso.slice(0, 10);
    const month = iso.slice(0, 7);
    let p = this.#periods.get(endpoint);
    if (!p || p.month !== month) {
      const since = Date.parse(`${month}-01T00:00:00Z`);
      const seeded = p === undefined;
      p = {
        day,
        month,
        today: seeded ? (this.#options.spentSince?.(endpoint, Date.parse(`${day}T00:00:00Z`)) ?? 0) : 0,
        thisMonth: seeded ? (this.#options.spentSince?.(endpoint, since) ?? 0) : 0,
        noticed: undefined,
      };
      this.#periods.set(endpoint, p);
    } else if (p.day !== day) {
      p.day = day;
      p.today = 0;
      if (p.noticed === 'daily') p.noticed = undefined;
    }
    return p;
  }

  /** The call's cost from the endpoint's prices (the model's, else `*`); null when it has none. */
  costOf(model: string, promptTokens: number, completionTokens: number): number | null {
    const ref = splitOpenAIRef(model);
    const ep = ref ? this.#endpoint(ref[0]) : undefined;
    const price = ep?.prices[ref?.[1] ?? ''] ?? ep?.prices['*'];
    if (!price) return null;
    return (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
  }

  /** Adds a call's cost to its endpoint's spend. */
  add(model: string, cost: number): void {
    const ref = splitOpenAIRef(model);
    if (!ref || cost <= 0) return;
    const p = this.#period(ref[0]);
    p.today += cost;
    p.thisMonth += cost;
  }

  /** Why the model's endpoint may not be used now (a spent budget), or undefined. */
  overBudget(model: string): string | undefined {
    const ref = splitOpenAIRef(model);
    const ep = ref ? this.#endpoint(ref[0]) : undefined;
    if (!ep?.budget) return undefined;
    const { daily, monthly, currency } = ep.budget;
    const p = this.#period(ep.id);
    if (daily !== undefined && p.today >= daily)
      return `${ep.id} spent ${formatMoney(p.today, currency)} of its daily budget of ${formatMoney(daily, currency)}`;
    if (monthly !== undefined && p.thisMonth >= monthly)
      return `${ep.id} spent ${formatMoney(p.thisMonth, currency)} of its monthly budget of ${formatMoney(monthly, currency)}`;
    return undefined;
  }

  /** True the first time in a budget period that the endpoint's spent budget turned a request away. */
  takeNotice(model: string): boolean {
    const ref = splitOpenAIRef(model);
    const ep = ref ? this.#endpoint(ref[0]) : undefined;
    if (!ep?.budget) return false;
    const p = this.#period(ep.id);
    const which = ep.budget.daily !== undefined && p.today >= ep.budget.daily ? 'daily' : 'monthly';
    if (p.noticed !== undefined) return false;
    p.noticed = which;
    return true;
  }

  /** Today's and this month's spend of every endpoint with prices or a budget. */
  summary(): EndpointSpend[] {
    return this.#options
      .getEndpoints()
      .filter((e) => e.budget || Object.keys(e.prices).length > 0)
      .map((e) => {
        const p = this.#period(e.id);
        return {
          endpoint: e.id,
          today: p.today,
          month: p.thisMonth,
          daily: e.budget?.daily,
          monthly: e.budget?.monthly,
          currency: e.budget?.currency ?? 'USD',
        };
      });
  }
}

/** The `!cost` text: each endpoint's spend today and this month against its budget. */
export function costText(spend: readonly EndpointSpend[]): string {
  if (spend.length === 0)
    return 'No cloud endpoint has prices yet: set them per model in the settings (endpoints → prices) to count spend.';
  return spend
    .map((s) => {
      const of = (v: number | undefined) => (v === undefined ? '' : ` of ${formatMoney(v, s.currency)}`);
      return `- ${s.endpoint}: today ${formatMoney(s.today, s.currency)}${of(s.daily)}, this month ${formatMoney(s.month, s.currency)}${of(s.monthly)}`;
    })
    .join('\n');
}

/** The one notice in the room when a spent budget sent a request down the chain (`reason`: the plan's skip). */
export function budgetNotice(reason: string, answeredBy: string): string {
  const why = reason.replace(/^budget: /, '').replace(/ \(.*\)$/, '');
  return `💸 ${why}: requests that would go there are answered by ${answeredBy} until the budget renews. \`!cost\` shows the spend.`;
}
