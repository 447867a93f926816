// Routing decisions as pure functions: which rule applies to a request, and the ordered, privacy-filtered
// list of models to try (the task's models → rule model → bot model → bot fallbacks); a local-only bot or a
// sensitive request keeps only the models on this machine, and a cloud endpoint whose budget is spent is passed.
import type { RequestSignals } from './request-signals.ts';

export interface RoutingRule {
  bot?: string;
  command?: string;
  pattern?: string;
  code?: boolean | string[];
  minChars?: number;
  maxChars?: number;
  image?: boolean;
  model?: string;
  task?: string;
  reason?: string;
}

export interface RuleInput {
  botId: string;
  /** The `!command` of the request, with or without the `!`. */
  command?: string;
  /** The last user message. */
  prompt: string;
  /** Code blocks and length of the request (request-signals.ts); rules with `code`/`minChars`/`maxChars` need them. */
  signals?: Pick<RequestSignals, 'codeBlocks' | 'codeLanguages' | 'chars'>;
  /** Images the request carries (attachments); rules with `image` read it. */
  images?: number;
}

export interface RuleMatch {
  index: number;
  rule: RoutingRule;
  reason: string;
}

export interface RuleScan {
  match?: RuleMatch;
  /** Rules skipped because their pattern is not a valid regular expression. */
  invalid: Array<{ index: number; error: string }>;
}

function normCommand(c: string): string {
  return c.trim().replace(/^!/, '').toLowerCase();
}

/** Whether the rule's code, length and image conditions hold; the words for its reason. */
function signalConditions(rule: RoutingRule, input: RuleInput): { holds: boolean; words: string[] } {
  const sig = input.signals ?? { codeBlocks: 0, codeLanguages: [], chars: input.prompt.trim().length };
  const words: string[] = [];
  if (rule.code !== undefined) {
    if (rule.code === true && sig.codeBlocks === 0) return { holds: false, words };
    if (rule.code === false && sig.codeBlocks > 0) return { holds: false, words };
    if (Array.isArray(rule.code)) {
      const wanted = rule.code.map((l) => l.toLowerCase());
      const lang = sig.codeLanguages.find((l) => wanted.includes(l));
      if (!lang) return { holds: false, words };
      words.push(`code in ${lang}`);
    } else words.push(rule.code ? 'a code block' : 'no code block');
  }
  if (rule.minChars !== undefined) {
    if (sig.chars < rule.minChars) return { holds: false, words };
    words.push(`at least ${rule.minChars} characters`);
  }
  if (rule.maxChars !== undefined) {
    if (sig.chars > rule.maxChars) return { holds: false, words };
    words.push(`at most ${rule.maxChars} characters`);
  }
  if (rule.image !== undefined) {
    if (rule.image !== (input.images ?? 0) > 0) return { holds: false, words };
    words.push(rule.image ? 'an attached image' : 'no image');
  }
  return { holds: true, words };
}

/**
 * The first rule whose every given condition holds: `bot` equals the bot id, `command` equals the
 * request's command (case-insensitive, `!` optional), `pattern` matches the prompt case-insensitively.
 * A rule with no condition matches every request.
 */
export function matchRule(rules: readonly RoutingRule[], input: RuleInput): RuleScan {
  const invalid: RuleScan['invalid'] = [];
  for (const [index, rule] of rules.entries()) {
    if (rule.bot !== undefined && rule.bot !== input.botId) continue;
    if (
      rule.command !== undefined &&
      (input.command === undefined || normCommand(rule.command) !== normCommand(input.command))
    )
      continue;
    if (rule.pattern !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(rule.pattern, 'i');
      } catch (err) {
        invalid.push({ index, error: err instanceof Error ? err.message : String(err) });
        continue;
      }
      if (!re.test(input.prompt)) continue;
    }
    const sig = signalConditions(rule, input);
    if (!sig.holds) continue;
    const conds = [
      rule.bot !== undefined ? `bot ${rule.bot}` : undefined,
      rule.command !== undefined ? `command !${normCommand(rule.command)}` : undefined,
      rule.pattern !== undefined ? `pattern /${rule.pattern}/i` : undefined,
      ...sig.words,
    ].filter(Boolean);
    const why = `rule #${index + 1} (${conds.length ? conds.join(', ') : 'matches everything'})${rule.reason ? `: ${rule.reason}` : ''}`;
    return { match: { index, rule, reason: why }, invalid };
  }
  return { invalid };
}

export interface Candidate {
  model: string;
  reason: string;
}

/** The task a request was given, its models already in the order to try them. */
export interface PlannedTask {
  name: string;
  /** The task's models, the one to try first at the front, each with why. */
  models: Candidate[];
}

export interface PlanInput extends RuleInput {
  rules: readonly RoutingRule[];
  botModel: string;
  fallback: readonly string[];
  localOnly: boolean;
  /** Whether a reference keeps every request on this machine (asked of its backend). */
  isLocal: (model: string) => boolean;
  /** Whether some backend takes the reference. */
  hasBackend: (model: string) => boolean;
  /** Kinds of sensitive data in the request: when any, only local models are tried, as for a local-only bot. */
  sensitive?: readonly string[];
  /** The task decided before the rules (an explicit `!task`, the bot's task, the classifier's choice). */
  task?: PlannedTask;
  /** Why a model may not be used now (its endpoint's budget is spent); undefined when it may. */
  overBudget?: (model: string) => string | undefined;
}

export interface RoutePlan {
  candidates: Candidate[];
  skipped: Candidate[];
  invalidRules: RuleScan['invalid'];
  /** The rule that matched, when one did (its task is in `task` when it names one). */
  rule?: RuleMatch;
}

/** Why a model cannot be tried for this request, or undefined when it can. */
function refusal(input: PlanInput, c: Candidate): string | undefined {
  if (!input.hasBackend(c.model)) return `no backend takes "${c.model}" (${c.reason})`;
  const local = input.isLocal(c.model);
  if (input.localOnly && !local)
    return `refused: the bot is local-only and ${c.model} leaves this machine (${c.reason})`;
  if (input.sensitive?.length && !local)
    return `refused: the request holds sensitive data (${input.sensitive.join(', ')}) and ${c.model} leaves this machine (${c.reason})`;
  const budget = input.overBudget?.(c.model);
  return budget ? `budget: ${budget} (${c.reason})` : undefined;
}

/**
 * The models to try in order, with why each is there, and those left out with why. A task given in the input
 * comes first and the rules are not read; a rule's task must be resolved by the caller (planTaskRoute does).
 */
export function planRoute(input: PlanInput): RoutePlan {
  const scan = input.task ? { invalid: [] } : matchRule(input.rules, input);
  const match = scan.match;
  const wanted: Candidate[] = [...(input.task?.models ?? [])];
  if (match?.rule.model) wanted.push({ model: match.rule.model, reason: match.reason });
  const after = input.task
    ? `, after task ${input.task.name}'s models`
    : match?.rule.model
      ? ", after the rule's model"
      : '';
  wanted.push({ model: input.botModel, reason: `the bot's own model${after}` });
  input.fallback.forEach((model, i) => wanted.push({ model, reason: `fallback #${i + 1} of the bot` }));
  const candidates: Candidate[] = [];
  const skipped: Candidate[] = [];
  const seen = new Set<string>();
  for (const c of wanted) {
    if (seen.has(c.model)) continue;
    seen.add(c.model);
    const why = refusal(input, c);
    if (why) skipped.push({ model: c.model, reason: why });
    else candidates.push(c);
  }
  return { candidates, skipped, invalidRules: scan.invalid, ...(match ? { rule: match } : {}) };
}
