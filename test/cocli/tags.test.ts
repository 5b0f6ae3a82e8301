// Tests for src/cocli/tags.ts: tags.lst rendering and parsing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCodePoints, parseTagsList, renderTagsList } from '../../src/cocli/index.js';

test('renderTagsList sorts by code point, de-duplicates, one per line with a trailing newline', () => {
  assert.equal(renderTagsList(['vip', 'prospect', 'vip', 'B']), 'B\nprospect\nvip\n');
  assert.equal(renderTagsList([]), '');
  assert.equal(renderTagsList([' a ', '']), 'a\n');
  assert.throws(() => renderTagsList(['a\nb']), /line break/);
});

test('parseTagsList tolerates CRLF, blank lines and spaces, and sorts', () => {
  assert.deepEqual(parseTagsList('vip\r\nprospect\r\n\r\n  vip  \n'), ['prospect', 'vip']);
  assert.deepEqual(parseTagsList(''), []);
  assert.deepEqual(parseTagsList(renderTagsList(['z', 'a', 'é'])), ['a', 'z', 'é']);
});

test('code point order differs from UTF-16 order for astral characters, like Python', () => {
  // U+FF5E (fullwidth tilde) < U+1F600 (emoji) by code point, though 0xFF5E > 0xD83D by code unit.
  const tags = ['\u{1F600}', '\uFF5E'];
  assert.deepEqual(parseTagsList(tags.join('\n')), ['\uFF5E', '\u{1F600}']);
  assert.ok(compareCodePoints('\uFF5E', '\u{1F600}') < 0);
  assert.ok(compareCodePoints('a', 'ab') < 0);
  assert.equal(compareCodePoints('x', 'x'), 0);
});
