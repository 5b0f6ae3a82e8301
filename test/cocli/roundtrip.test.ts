// Property test for src/cocli/document.ts: any field map renders to text that
// parses back to the same fields and body, deterministically and idempotently.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { normalizeBody, parseDocument, renderDocument } from '../../src/cocli/index.js';
import { companyDocument } from './arbitraries.js';

test('render then parse gives back the same fields and body (fast-check)', () => {
  fc.assert(
    fc.property(companyDocument, ({ fields, body }) => {
      const text = renderDocument('company', fields, body);
      const doc = parseDocument(text, 'prop');
      assert.deepStrictEqual(doc.fields, fields);
      assert.equal(doc.body, normalizeBody(body));
      // rule 1: cocli's split finds exactly our two markers
      const frontmatter = text.split('---')[1]!;
      assert.ok(text.startsWith('---\n'));
      assert.ok(!frontmatter.split('\n').some((l) => l.includes('---')));
      assert.ok(frontmatter.endsWith('\n') && text.slice(3 + frontmatter.length).startsWith('---\n'));
      assert.match(frontmatter, /^[\x20-\x7e\n]*$/);
      // idempotent and independent of the input's key order
      assert.equal(renderDocument('company', doc.fields, doc.body), text);
      const reversed = Object.fromEntries(Object.entries(fields).reverse());
      assert.equal(renderDocument('company', reversed, body), text);
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('normalizeBody strips leading blank lines and trailing whitespace only', () => {
  assert.equal(normalizeBody('\n\n  indented\r\nline\n\n  \n'), '  indented\nline');
  assert.equal(normalizeBody(' \n\t\n'), '');
});
