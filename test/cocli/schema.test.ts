// Tests for src/cocli/schema.ts: key order, field types, CLI coercion, value checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMPANY_KEYS,
  PERSON_KEYS,
  CocliValueError,
  checkValue,
  coerceValue,
  fieldType,
  normalizeDateTime,
} from '../../src/cocli/index.js';

test('COMPANY_KEYS and PERSON_KEYS follow the model order in the doc', () => {
  assert.equal(COMPANY_KEYS.length, 50);
  assert.deepEqual(COMPANY_KEYS.slice(0, 7), ['name', 'domain', 'type', 'tags', 'slug', 'company_hash', 'visits_per_day']);
  assert.deepEqual(COMPANY_KEYS.slice(-4), ['callback_at', 'enrichment_ttl_days', 'processed_by', 'gmb_url']);
  assert.equal(new Set(COMPANY_KEYS).size, COMPANY_KEYS.length);
  assert.deepEqual(PERSON_KEYS, [
    'name', 'email', 'phone', 'company_name', 'role', 'tags', 'slug',
    'full_address', 'street_address', 'city', 'state', 'zip_code', 'country',
  ]);
});

test('fieldType knows each type and reports unknown keys as undefined', () => {
  for (const k of ['tags', 'keywords', 'tech_stack', 'services', 'products', 'categories', 'all_emails']) {
    assert.equal(fieldType('company', k), 'list', k);
  }
  assert.equal(fieldType('company', 'email_contexts'), 'map');
  for (const k of ['reviews_count', 'visits_per_day', 'enrichment_ttl_days']) assert.equal(fieldType('company', k), 'int');
  for (const k of ['average_rating', 'latitude', 'longitude']) assert.equal(fieldType('company', k), 'float');
  for (const k of ['last_enriched', 'list_found_at', 'details_found_at', 'enqueued_at', 'callback_at']) {
    assert.equal(fieldType('company', k), 'datetime');
  }
  assert.equal(fieldType('company', 'zip_code'), 'string');
  assert.equal(fieldType('company', 'name'), 'string');
  assert.equal(fieldType('company', 'nope'), undefined);
  assert.equal(fieldType('company', 'description'), undefined);
  assert.equal(fieldType('person', 'tags'), 'list');
  assert.equal(fieldType('person', 'role'), 'string');
  assert.equal(fieldType('person', 'reviews_count'), undefined);
  assert.equal(fieldType('person', 'toString'), undefined);
});

test('coerceValue keeps strings and unknown keys as the raw string', () => {
  assert.equal(coerceValue('company', 'zip_code', '01234'), '01234');
  assert.equal(coerceValue('company', 'zip_code', '78701'), '78701');
  assert.equal(coerceValue('company', 'hours', '9:30'), '9:30');
  assert.equal(coerceValue('company', 'whatever', '12'), '12');
  assert.equal(coerceValue('person', 'role', 'yes'), 'yes');
});

test('coerceValue converts ints, floats and datetimes', () => {
  assert.equal(coerceValue('company', 'reviews_count', '12'), 12);
  assert.equal(coerceValue('company', 'reviews_count', '-3'), -3);
  assert.equal(coerceValue('company', 'reviews_count', '+7'), 7);
  assert.equal(coerceValue('company', 'average_rating', '4'), 4);
  assert.equal(coerceValue('company', 'average_rating', '4.5'), 4.5);
  assert.equal(coerceValue('company', 'latitude', '-30.25'), -30.25);
  assert.equal(coerceValue('company', 'latitude', '1e3'), 1000);
  assert.equal(coerceValue('company', 'last_enriched', '2026-01-01'), '2026-01-01T00:00:00Z');
  assert.equal(coerceValue('company', 'last_enriched', '2026-02-01T12:00:00Z'), '2026-02-01T12:00:00Z');
  assert.equal(coerceValue('company', 'last_enriched', '2026-02-01T12:00:00+00:00'), '2026-02-01T12:00:00Z');
  assert.equal(coerceValue('company', 'last_enriched', '2026-02-01T13:30:00+01:30'), '2026-02-01T12:00:00Z');
  assert.equal(coerceValue('company', 'last_enriched', '2026-02-01 12:00:00.250Z'), '2026-02-01T12:00:00.250Z');
  assert.equal(coerceValue('company', 'last_enriched', '2026-02-01T12:00Z'), '2026-02-01T12:00:00Z');
  // no offset: read as UTC, not local time
  assert.equal(coerceValue('company', 'callback_at', '2026-02-01T12:00:00'), '2026-02-01T12:00:00Z');
});

test('coerceValue rejects values that do not fit, with a clear message', () => {
  assert.throws(
    () => coerceValue('company', 'reviews_count', 'many'),
    (e: unknown) => e instanceof CocliValueError && e.message === 'reviews_count=many: reviews_count is an integer field; "many" is not an integer',
  );
  for (const bad of ['1.5', '', '0x10', '1e3', '12abc', '99999999999999999999']) {
    assert.throws(() => coerceValue('company', 'visits_per_day', bad), CocliValueError, bad);
  }
  for (const bad of ['four', 'NaN', 'Infinity', '', '1,5', '0x1F']) {
    assert.throws(() => coerceValue('company', 'average_rating', bad), /is a float field/, bad);
  }
  for (const bad of ['yesterday', '2026-13-01', '2026-02-30', '2026-02-01T25:00:00Z', 'March 7, 2026', '12']) {
    assert.throws(() => coerceValue('company', 'last_enriched', bad), /is a datetime field/, bad);
  }
  assert.throws(() => coerceValue('company', 'tags', 'a,b'), /--add\/--remove/);
  assert.throws(() => coerceValue('company', 'email_contexts', 'x'), /:=/);
  assert.throws(() => coerceValue('company', 'name', 'bad\u0000name'), CocliValueError);
});

test('checkValue accepts values of the right type', () => {
  assert.equal(checkValue('company', 'name', 'Acme'), undefined);
  assert.equal(checkValue('company', 'notes', 'multi\nline\ttext'), undefined);
  assert.equal(checkValue('company', 'reviews_count', 12), undefined);
  assert.equal(checkValue('company', 'average_rating', 4), undefined);
  assert.equal(checkValue('company', 'last_enriched', '2026-02-01T12:00:00Z'), undefined);
  assert.equal(checkValue('company', 'tags', ['a', 'b']), undefined);
  assert.equal(checkValue('company', 'tags', []), undefined);
  assert.equal(checkValue('company', 'email_contexts', { 'a@b.com': 'sales' }), undefined);
  assert.equal(checkValue('company', 'custom', { a: [1, 'x', true, null, { b: 2.5 }] }), undefined);
  assert.equal(checkValue('person', 'tags', ['x']), undefined);
});

test('checkValue rejects values of the wrong type', () => {
  assert.match(checkValue('company', 'name', 12) ?? '', /expected a string/);
  assert.match(checkValue('company', 'zip_code', 78701) ?? '', /expected a string/);
  assert.match(checkValue('company', 'name', 'a\u0000b') ?? '', /control character U\+0000/);
  assert.match(checkValue('company', 'name', 'a\u001bb') ?? '', /control character/);
  assert.match(checkValue('company', 'name', 'a\ud800b') ?? '', /surrogate/);
  assert.match(checkValue('company', 'reviews_count', 1.5) ?? '', /integer/);
  assert.match(checkValue('company', 'reviews_count', '12') ?? '', /integer/);
  assert.match(checkValue('company', 'reviews_count', 2 ** 60) ?? '', /integer/);
  assert.match(checkValue('company', 'average_rating', Infinity) ?? '', /finite/);
  assert.match(checkValue('company', 'average_rating', NaN) ?? '', /finite/);
  assert.match(checkValue('company', 'last_enriched', 'soon') ?? '', /ISO-8601/);
  assert.match(checkValue('company', 'last_enriched', 1700000000) ?? '', /ISO-8601/);
  assert.match(checkValue('company', 'tags', 'vip') ?? '', /list of strings/);
  assert.match(checkValue('company', 'tags', ['a', 3]) ?? '', /tags\[1\]/);
  assert.match(checkValue('company', 'tags', ['a\nb']) ?? '', /single line/);
  assert.match(checkValue('company', 'keywords', [null]) ?? '', /keywords\[0\]/);
  assert.match(checkValue('company', 'email_contexts', ['x']) ?? '', /map/);
  assert.match(checkValue('company', 'email_contexts', { a: 1 }) ?? '', /email_contexts\.a/);
  assert.match(checkValue('company', 'custom', null) ?? '', /null/);
  assert.match(checkValue('company', 'name', undefined) ?? '', /undefined/);
  assert.match(checkValue('company', 'custom', { a: NaN }) ?? '', /custom\.a/);
  assert.match(checkValue('company', 'custom', new Date()) ?? '', /JSON/);
  assert.match(checkValue('company', 'custom', () => 1) ?? '', /JSON/);
});

test('normalizeDateTime gives YYYY-MM-DDTHH:MM:SSZ, milliseconds only when non-zero', () => {
  assert.equal(normalizeDateTime('2026-02-01T12:00:00.000Z'), '2026-02-01T12:00:00Z');
  assert.equal(normalizeDateTime('2026-02-01T12:00:00.5Z'), '2026-02-01T12:00:00.500Z');
  assert.equal(normalizeDateTime('2026-02-01T00:30:00+01:00'), '2026-01-31T23:30:00Z');
  assert.equal(normalizeDateTime('2024-02-29'), '2024-02-29T00:00:00Z');
  assert.equal(normalizeDateTime('2025-02-29'), undefined);
});
