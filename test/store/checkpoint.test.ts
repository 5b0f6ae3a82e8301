// Checkpoint lines: the packed state (format 3) reads back exactly the state it was made from, with keys
// in the same order (verify compares JSON); format 1 lines (the unpacked state) and format 2 lines (CIDs
// written out instead of named by position) still read; a damaged packed state is refused with a message
// naming the entity.
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

/** The format 2 form of a format 3 line: the dag an object by CID, entries naming their datagram's CID. */
function asFormat2(line: string): string {
  const obj = JSON.parse(line);
  const st = obj.checkpoint.state;
  const cids: string[] = st.dag.map((n: unknown[]) => n[0]);
  st.dag = Object.fromEntries(st.dag.map((n: unknown[]) => [n[0], n.slice(1)]));
  const named = (list: unknown[][]) => list.map((e) => [e[0], e[1], e[2], cids[e[3] as number], e[4]]);
  const each = (o: Record<string, unknown[][]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, named(v)]));
  st.registers = each(st.registers);
  st.sets = Object.fromEntries(Object.entries(st.sets as Record<string, Record<string, unknown[][]>>).map(([k, v]) => [k, each(v)]));
  st.maps = Object.fromEntries(Object.entries(st.maps as Record<string, Record<string, unknown[][]>>).map(([k, v]) => [k, each(v)]));
  st.body = named(st.body);
  obj.checkpoint.format = 'cocli-mesh checkpoint 2';
  return JSON.stringify(obj);
}

test('a packed checkpoint reads back the same state, key order included; formats 1 and 2 still read', async () => {
  const { a, b, entity, state } = await foldedState();
  try {
    assert.equal(Object.keys(state.dag).length, 3);
    assert.equal(state.registers.name!.length, 2, 'the concurrent names are both kept (a conflict)');
    const cp = makeCheckpoint(state, undefined, [], { ranges: [], dropped: false });
    const line = checkpointLine(cp);
    assert.ok(line.includes(`"format":"${CHECKPOINT_FORMAT}"`));
    assert.ok(line.includes('"authors":['), 'author keys are listed once');
    for (const cid of Object.keys(state.dag)) assert.equal(line.split(cid).length - 1, 1 + Number(state.heads.includes(cid)), 'a CID is written once in the dag (and in heads)');
    const back = parseCheckpointLine(line, entity);
    assert.equal(JSON.stringify(back.state), JSON.stringify(state));
    assert.deepEqual(back.state, state);

    const v2 = asFormat2(line);
    assert.ok(v2.length > line.length, `format 2 (${v2.length} B) is larger than format 3 (${line.length} B)`);
    assert.equal(JSON.stringify(parseCheckpointLine(v2, entity).state), JSON.stringify(state));
    assert.deepEqual(parseCheckpointLine(v2, entity).state, state);

    const v1 = JSON.stringify({ checkpoint: { ...cp, format: 'cocli-mesh checkpoint 1' } });
    assert.ok(v1.length > line.length, `format 1 (${v1.length} B) is larger than format 3 (${line.length} B)`);
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
    const dangling = JSON.parse(line);
    dangling.checkpoint.state.body[0][3] = 99; // an entry naming a datagram the dag does not list
    assert.throws(() => parseCheckpointLine(JSON.stringify(dangling), entity), /malformed state: datagram reference 99 is not in the dag/);
    assert.throws(() => parseCheckpointLine(line, 'companies/other'), /not a checkpoint of companies\/other/);
  } finally {
    removeRoots(a, b);
  }
});
