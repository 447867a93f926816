// A stage's condition: a CEL expression (Common Expression Language, through @marcbachmann/cel-js) on the request and
// the earlier stages' outputs. CEL has no loops, no side effects and no access to anything but the context it is
// given, so a condition from settings can be evaluated safely; nothing here uses eval.
import { parse } from '@marcbachmann/cel-js';

/** One earlier stage's output as conditions and templates see it. */
export interface StageOutput {
  name: string;
  text: string;
  /** The parsed answer of a stage with a schema. */
  json?: unknown;
}

export type Condition = (context: Record<string, unknown>) => boolean;

export class ConditionError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'ConditionError';
    this.hint = hint;
  }
}

const EVALUATION_HINT =
  "A condition can read only what the earlier stages answered: test a field that may be missing with has() first (has(stages.classify.category) && category == 'complex'), or give the stage that answers it a schema that requires it.";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What a condition can read, later entries winning: the fields of every earlier JSON output (later stages over earlier
 * ones, so `category == 'complex'` reads the classifier's answer), each earlier stage by its name (its parsed JSON, or
 * its text), `stages` (the same by name, for names CEL cannot spell: `stages['extract-invoice'].total`) and `input`.
 */
export function conditionContext(input: string, outputs: readonly StageOutput[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const stages: Record<string, unknown> = {};
  for (const o of outputs) {
    if (o.json !== null && typeof o.json === 'object' && !Array.isArray(o.json)) Object.assign(fields, o.json);
    stages[o.name] = o.json === undefined ? o.text : o.json;
  }
  const byName = Object.fromEntries(Object.entries(stages).filter(([n]) => IDENTIFIER.test(n)));
  return { ...fields, ...byName, stages, input };
}

/** Parses the expression once; throws ConditionError saying why it is not valid CEL. */
export function compileCondition(source: string): Condition {
  let run: (context: Record<string, unknown>) => unknown;
  try {
    run = parse(source);
  } catch (err) {
    throw new ConditionError(`the condition \`${source}\` is not a valid CEL expression: ${messageOf(err)}`);
  }
  return (context) => {
    let value: unknown;
    try {
      value = run(context);
    } catch (err) {
      throw new ConditionError(
        `the condition \`${source}\` could not be evaluated: ${messageOf(err)}`,
        EVALUATION_HINT,
      );
    }
    if (typeof value !== 'boolean')
      throw new ConditionError(`the condition \`${source}\` gave ${describe(value)}, not true or false`);
    return value;
  };
}

/** The error's first line: cel-js adds the expression with a caret under the place, which a one-line notice cannot show. */
function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the text "${value}"`;
  if (typeof value === 'bigint' || typeof value === 'number') return `the number ${String(value)}`;
  if (value === null) return 'null';
  return Array.isArray(value) ? 'a list' : `a ${typeof value === 'object' ? 'map' : typeof value}`;
}
