// The peer book: how peers were found, and when a peer the node wants gets redialled (exponential backoff).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, BACKOFF_MAX_MS, PeerBook } from '../../src/net/peers.js';

test('a discovered peer is due at once; after failures, with growing delays capped at 60 s', () => {
  let now = 1_000;
  const book = new PeerBook(() => now);
  book.found('p', 'mdns');
  assert.deepEqual(book.due(), ['p']);
  assert.deepEqual(book.due(), [], 'taken off the schedule until the outcome is known');
  book.dialFailed('p');
  assert.deepEqual(book.due(), []);
  now += backoffDelay(1);
  assert.deepEqual(book.due(), ['p']);
  for (let i = 0; i < 20; i++) book.dialFailed('p');
  assert.equal(backoffDelay(21), BACKOFF_MAX_MS);
  book.due();
  book.connected('p', false);
  assert.equal(book.list()[0]!.failures, 0, 'a connection resets the backoff');
  book.disconnected('p');
  now += backoffDelay(0);
  assert.deepEqual(book.due(), ['p'], 'a wanted peer is redialled after a disconnect');
});

test('a peer that only dialled in is not redialled; it is listed as found inbound', () => {
  let now = 0;
  const book = new PeerBook(() => now);
  book.connected('q', true);
  book.disconnected('q');
  now += BACKOFF_MAX_MS;
  assert.deepEqual(book.due(), []);
  assert.deepEqual(book.list(), [{ peerId: 'q', foundBy: ['inbound'], connected: false, lastSeen: 0, failures: 0 }]);
});
