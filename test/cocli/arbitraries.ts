// fast-check arbitraries for cocli documents with nasty strings (shared by the
// round-trip property test and the PyYAML cross-check).

import * as fc from 'fast-check';
import { COMPANY_KEYS, fieldType, formatUtc } from '../../src/cocli/index.js';

const NASTY_CHARS = [
  '-', '-', '-', ':', ' ', ' ', '#', '\n', '\t', '\r', "'", '"', '\\', '\u0000', '\u001b', '\u007f', '\u0085',
  '\u2028', '\ufeff', '\u00a0', 'é', '\u{1F600}', '中', '@', '&', '*', '!', '|', '>', '%', '`', '{', '}', '[', ']',
  ',', '?', '~', '0', '1', '9', '.', 'e', 'y', 'n', 'o', 'x', '_', '<', '=', 'a', 'Z', '+',
];

const YAML_TRAPS = [
  'yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'N', 'null', 'Null', '~', 'true', 'False', '1e3', '0x1F', '01234', '78701',
  '9:30', '190:20:30', '2026-01-01', '2026-01-01T10:00:00Z', '2026-1-1 1:00:00', '---', '- a', '', ' ', '<<', '=',
  '.inf', '-.inf', '.nan', '1_000', '0b101', '+1', '-1.5', '1.', '.5', '?', ':', 'a: b', 'a #b', 'x:', '!!str',
  '&a', '*a', '%YAML', '@x', '`x', '|', '>', '[]', '{}', '"', "'", '...', '----', '-----', 'A --- B',
];

/** Strings designed to trip YAML emitters and loaders. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...NASTY_CHARS), maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom(...YAML_TRAPS),
  fc.tuple(fc.constantFrom(...YAML_TRAPS), fc.constantFrom(...YAML_TRAPS)).map(([a, b]) => a + b),
);

/** JSON-ish nested data for unknown keys (null allowed only nested). */
const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

const unknownValue = jsonish.filter((v) => v !== null);

function arbitraryFor(key: string): fc.Arbitrary<unknown> {
  switch (fieldType('company', key)) {
    case 'int':
      return fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constant(0));
    case 'float':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -5, max: 5 }));
    case 'datetime':
      return fc
        .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
        .map(formatUtc);
    case 'list':
      return fc.array(nastyString, { maxLength: 5 });
    case 'map':
      return fc.dictionary(nastyString, nastyString, { maxKeys: 4, noNullPrototype: true });
    default:
      return nastyString;
  }
}

const knownFields: fc.Arbitrary<Record<string, unknown>> = fc.record(
  Object.fromEntries(COMPANY_KEYS.map((k) => [k, arbitraryFor(k)])) as Record<string, fc.Arbitrary<unknown>>,
  { requiredKeys: [] },
);

const unknownFields: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(
  nastyString.filter((k) => fieldType('company', k) === undefined),
  unknownValue,
  { maxKeys: 5, noNullPrototype: true },
);

/** A random company document: fields (known and unknown) and a body. */
export const companyDocument: fc.Arbitrary<{ fields: Record<string, unknown>; body: string }> = fc.record({
  fields: fc.tuple(knownFields, unknownFields).map(([k, u]) => ({ ...u, ...k })),
  body: fc.oneof(nastyString, fc.string({ unit: fc.constantFrom(...NASTY_CHARS, '\n', '\n', '#'), maxLength: 80 })),
});
