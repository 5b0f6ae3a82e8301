// Checkpoint lines: the packed state (format 2) reads back exactly the state it was made from, with keys
// in the same order (verify compares JSON); format 1 lines (the unpacked state) still read; a damaged
// packed state is refused with a message naming the entity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkpointLine, makeCheckpoint, parseCheckpointLine, CHECKPOINT_FORMAT } from '../../src/store/checkpoint.js';
import { newReplica, removeRoots } from '../support/replicas.js';

async function foldedState() {
  const a = await newReplica('cp-a');
  const b = await newReplica('cp-b');
  const entity = 'companies/acme-inc';
  await a.update(entity, [['s', 'name', 'Acme'], ['+', 'tags', 'x'], ['m', 'email_contexts', 'a@acme.test', 'sales'], ['b', 'body\n']]);
  for (const env of await a.store.transaction(() => a.datagramsSince({}))) await b.importDatagrams([{ bytes: env.bytes }]);
  // concurrent writes: register conflict, set add and remove, a map key
  await a.update(entity, [['s', 'name', 'Acme A'], ['-', 'tags', 'x']]);
  await b.update(entity, [['s', 'name', 'Acme B'], ['+', 'tags', 'y'], ['s', 'reviews_count', 12]]);
  await a.importDatagrams((await b.store.transaction(() => b.datagramsSince(a.frontier()))).map((e) => ({ bytes: e.bytes })));
  const state = a.store.state(entity);
  return { a, b, entity, state };
}

test('a packed checkpoint reads back the same state, key order included; format 1 still reads', async () => {
  const { a, b, entity, state } = await foldedState();
  try {
    assert.equal(Object.keys(state.dag).length, 3);
    assert.equal(state.registers.name!.length, 2, 'the concurrent names are both kept (a conflict)');
    const cp = makeCheckpoint(state, undefined, [], { ranges: [], dropped: false });
    const line = checkpointLine(cp);
    assert.ok(line.includes(`"format":"${CHECKPOINT_FORMAT}"`));
    assert.ok(line.includes('"authors":['), 'author keys are listed once');
    const back = parseCheckpointLine(line, entity);
    assert.equal(JSON.stringify(back.state), JSON.stringify(state));
    assert.deepEqual(back.state, state);

    const v1 = JSON.stringify({ checkpoint: { ...cp, format: 'cocli-mesh checkpoint 1' } });
    assert.ok(v1.length > line.length, `format 1 (${v1.length} B) is larger than format 2 (${line.length} B)`);
    assert.equal(JSON.stringify(parseCheckpointLine(v1, entity).state), JSON.stringify(state));
  } finally {
    removeRoots(a, b);
  }
});

test('a damaged packed state is refused, naming the entity', async () => {
  const { a, b, entity, state } = await foldedState();
  try {
    const line = checkpointLine(makeCheckpoint(state, undefined, [], { ranges: [], dropped: false }));
    const obj = JSON.parse(line);
    obj.checkpoint.state.authors = obj.checkpoint.state.authors.slice(0, 1); // entries now name a missing author
    assert.throws(() => parseCheckpointLine(JSON.stringify(obj), entity), /checkpoint of companies\/acme-inc has a malformed state: author reference 1/);
    assert.throws(() => parseCheckpointLine(line, 'companies/other'), /not a checkpoint of companies\/other/);
  } finally {
    removeRoots(a, b);
  }
});
