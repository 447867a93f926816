// The schema node-llama-cpp's grammar generator gets: anyOf as oneOf, and a clear refusal (with where) of what it
// would otherwise quietly turn into `null`.
import { describe, expect, it } from 'vitest';
import { grammarSchema } from '../../main/core/inference/llama/json-grammar.ts';

describe('grammarSchema', () => {
  const ok: Array<[string, Record<string, unknown>, Record<string, unknown>?]> = [
    [
      'an object of basic types',
      { type: 'object', properties: { a: { type: 'string' }, b: { type: ['integer', 'null'] } } },
    ],
    ['an enum with no type', { enum: ['simple', 'complex'] }],
    ['a const', { const: 3 }],
    ['a $ref into $defs', { $defs: { n: { type: 'number' } }, type: 'array', items: { $ref: '#/$defs/n' } }],
    [
      'anyOf, as oneOf',
      { type: 'object', properties: { c: { anyOf: [{ type: 'string' }, { type: 'null' }] } } },
      { type: 'object', properties: { c: { oneOf: [{ type: 'string' }, { type: 'null' }] } } },
    ],
    ['prefixItems', { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'boolean' } }],
    ['additionalProperties as a schema', { type: 'object', additionalProperties: { type: 'integer' } }],
  ];
  it.each(ok)('takes %s', (_name, schema, expected) => {
    expect(grammarSchema(schema)).toEqual(expected ?? schema);
  });

  const refused: Array<[string, Record<string, unknown>, string]> = [
    ['no type at all', { description: 'anything' }, 'at the top: no type (nor enum, const, oneOf, anyOf or $ref)'],
    ['an unknown type', { type: 'object', properties: { n: { type: 'text' } } }, 'at properties.n: "text" is not'],
    ['allOf', { oneOf: [{ allOf: [] }] }, 'at oneOf[0]: "allOf" cannot be a grammar'],
    ['not', { type: 'array', items: { not: { type: 'string' } } }, 'at items: "not" cannot be a grammar'],
    ['object in a type list', { type: ['object', 'null'] }, 'use oneOf with one schema per type'],
    [
      'a property that is not a schema',
      { type: 'object', properties: { a: 'string' } },
      'at properties.a: a schema must be an object',
    ],
    ['anyOf beside oneOf', { anyOf: [], oneOf: [] }, 'both anyOf and oneOf'],
  ];
  it.each(refused)('refuses %s', (_name, schema, message) => {
    expect(() => grammarSchema(schema)).toThrow(message);
  });

  it('leaves the given schema as it was', () => {
    const schema = { anyOf: [{ type: 'string' }] };
    grammarSchema(schema);
    expect(schema).toEqual({ anyOf: [{ type: 'string' }] });
  });
});
