// Tests for src/cocli/slug.ts: cocli's slugify rule and slug validity.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidSlug, slugify } from '../../src/cocli/index.js';

test('slugify lowercases and turns each run of other characters into one dash', () => {
  assert.equal(slugify('Acme Inc'), 'acme-inc');
  assert.equal(slugify('acme.com'), 'acme-com');
  assert.equal(slugify('  --Acme,  Inc.--  '), 'acme-inc');
  assert.equal(slugify('Café Zürich'), 'caf-z-rich');
  assert.equal(slugify('A&B   C__D'), 'a-b-c-d');
  assert.equal(slugify('3M'), '3m');
  assert.equal(slugify('日本'), '');
});

test('isValidSlug accepts ^[a-z0-9-]+$ of 3 to 255 characters only', () => {
  assert.equal(isValidSlug('acme-inc'), true);
  assert.equal(isValidSlug('abc'), true);
  assert.equal(isValidSlug('ab'), false);
  assert.equal(isValidSlug('a'.repeat(255)), true);
  assert.equal(isValidSlug('a'.repeat(256)), false);
  assert.equal(isValidSlug('Acme'), false);
  assert.equal(isValidSlug('acme_inc'), false);
  assert.equal(isValidSlug('../x'), false);
  assert.equal(isValidSlug('acme\n'), false);
});
