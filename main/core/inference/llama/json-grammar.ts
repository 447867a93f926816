// A JSON schema as node-llama-cpp's grammar generator needs it. The generator quietly turns what it does not know
// (anyOf, allOf, a missing or unknown type) into `null`, so a stage would be forced to answer `null` where the
// schema asked for something else. Here anyOf becomes oneOf (the same choice for generation) and everything the
// grammar cannot express is refused up front, with where it is in the schema.

const BASIC_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const UNSUPPORTED = ['allOf', 'not', 'if', 'then', 'else', 'patternProperties', 'dependentSchemas'] as const;

export class JsonGrammarError extends Error {
  constructor(path: string, problem: string) {
    super(`at ${path || 'the top'}: ${problem}`);
    this.name = 'JsonGrammarError';
  }
}

type Schema = Record<string, unknown>;

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkType(s: Schema, path: string): void {
  const types = Array.isArray(s.type) ? (s.type as unknown[]) : [s.type];
  if (s.type === 'object' || s.type === 'array') return;
  for (const t of types) {
    if (typeof t !== 'string' || !BASIC_TYPES.has(t))
      throw new JsonGrammarError(
        path,
        t === 'object' || t === 'array'
          ? `a list of types with "${t}" in it cannot be a grammar; use oneOf with one schema per type`
          : `"${String(t)}" is not a JSON schema type`,
      );
  }
}

function convert(s: Schema, path: string): Schema {
  for (const k of UNSUPPORTED) if (k in s) throw new JsonGrammarError(path, `"${k}" cannot be a grammar`);
  const out: Schema = { ...s };
  if ('anyOf' in out) {
    if ('oneOf' in out) throw new JsonGrammarError(path, 'both anyOf and oneOf');
    out.oneOf = out.anyOf;
    delete out.anyOf;
  }
  const decided = ['$ref', 'const', 'enum', 'oneOf'].some((k) => out[k] !== undefined);
  if (!decided) {
    if (out.type === undefined)
      throw new JsonGrammarError(path, 'no type (nor enum, const, oneOf, anyOf or $ref): say what the value is');
    checkType(out, path);
  }
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (Array.isArray(out.oneOf)) out.oneOf = out.oneOf.map((v: unknown, i) => sub(v, `${at('oneOf')}[${i}]`));
  if (Array.isArray(out.prefixItems))
    out.prefixItems = out.prefixItems.map((v: unknown, i) => sub(v, `${at('prefixItems')}[${i}]`));
  if (out.items !== undefined) out.items = sub(out.items, at('items'));
  if (isSchema(out.additionalProperties))
    out.additionalProperties = sub(out.additionalProperties, at('additionalProperties'));
  for (const key of ['properties', '$defs'] as const) {
    const group = out[key];
    if (isSchema(group))
      out[key] = Object.fromEntries(Object.entries(group).map(([k, v]) => [k, sub(v, `${at(key)}.${k}`)]));
  }
  return out;
}

function sub(v: unknown, path: string): Schema {
  if (!isSchema(v)) throw new JsonGrammarError(path, 'a schema must be an object');
  return convert(v, path);
}

/** The schema node-llama-cpp's createGrammarForJsonSchema can take as meant; throws JsonGrammarError otherwise. */
export function grammarSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return sub(schema, '');
}
