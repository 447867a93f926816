// Routing decisions as pure functions: which rule applies to a request, and the ordered, privacy-filtered
// list of models to try (rule model → bot model → bot fallbacks); a local-only bot or a sensitive request
// keeps only the models on this machine.

export interface RoutingRule {
  bot?: string;
  command?: string;
  pattern?: string;
  code?: boolean | string[];
  minChars?: number;
  maxChars?: number;
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
    const conds = [
      rule.bot !== undefined ? `bot ${rule.bot}` : undefined,
      rule.command !== undefined ? `command !${normCommand(rule.command)}` : undefined,
      rule.pattern !== undefined ? `pattern /${rule.pattern}/i` : undefined,
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
}

export interface RoutePlan {
  candidates: Candidate[];
  skipped: Candidate[];
  invalidRules: RuleScan['invalid'];
}

/** The models to try in order, with why each is there, and those left out with why. */
export function planRoute(input: PlanInput): RoutePlan {
  const { match, invalid } = matchRule(input.rules, input);
  const wanted: Candidate[] = [];
  if (match?.rule.model) wanted.push({ model: match.rule.model, reason: match.reason });
  wanted.push({
    model: input.botModel,
    reason: match ? "the bot's own model, after the rule's model" : "the bot's own model",
  });
  input.fallback.forEach((model, i) => wanted.push({ model, reason: `fallback #${i + 1} of the bot` }));
  const candidates: Candidate[] = [];
  const skipped: Candidate[] = [];
  const seen = new Set<string>();
  const sensitive = input.sensitive?.length ? input.sensitive.join(', ') : undefined;
  for (const c of wanted) {
    if (seen.has(c.model)) continue;
    seen.add(c.model);
    if (!input.hasBackend(c.model))
      skipped.push({ model: c.model, reason: `no backend takes "${c.model}" (${c.reason})` });
    else if (input.localOnly && !input.isLocal(c.model))
      skipped.push({
        model: c.model,
        reason: `refused: the bot is local-only and ${c.model} leaves this machine (${c.reason})`,
      });
    else if (sensitive && !input.isLocal(c.model))
      skipped.push({
        model: c.model,
        reason: `refused: the request holds sensitive data (${sensitive}) and ${c.model} leaves this machine (${c.reason})`,
      });
    else candidates.push(c);
  }
  return { candidates, skipped, invalidRules: invalid };
}
