// What a server that holds generation to a JSON schema (Ollama's `format`, OpenAI's json_schema response format)
// answers in tests: the simplest value of the schema, deterministic, so a test can check the request's schema
// came through whole and the answer parses.

type Schema = Record<string, unknown>;

/** The simplest value that fits the schema: first enum/const/oneOf choice, every listed property, empty strings. */
export function sampleOf(schema: unknown, defs: Record<string, unknown> = {}): unknown {
  if (typeof schema !== 'object' || schema === null) return null;
  const s = schema as Schema;
  const allDefs = { ...defs, ...((s.$defs as Record<string, unknown> | undefined) ?? {}) };
  if (typeof s.$ref === 'string') return sampleOf(allDefs[s.$ref.replace('#/$defs/', '')], allDefs);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const choices = (s.oneOf ?? s.anyOf) as unknown[] | undefined;
  if (Array.isArray(choices)) return sampleOf(choices[0], allDefs);
  const type = Array.isArray(s.type) ? (s.type[0] as unknown) : s.type;
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, sampleOf(v, allDefs)]));
    }
    case 'array':
      return Array.from({ length: typeof s.minItems === 'number' ? s.minItems : 0 }, () => sampleOf(s.items, allDefs));
    case 'string':
      return 'x'.repeat(typeof s.minLength === 'number' ? s.minLength : 0);
    case 'number':
    case 'integer':
      return typeof s.minimum === 'number' ? s.minimum : 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

/** JSON text cut into stream pieces a few characters long, as a model's tokens would come. */
export function jsonPieces(text: string, size = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}
