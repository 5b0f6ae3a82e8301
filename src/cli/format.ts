// Human-readable and JSON renderings of datagrams and entity views for the CLI.
import { peerIdOf } from '../datagram/author.js';
import type { Envelope, Op } from '../datagram/types.js';
import type { EntityView } from '../merge/view.js';
import type { Mesh } from '../mesh/mesh.js';

export function logJson(mesh: Mesh, env: Envelope) {
  const d = env.datagram;
  const author = peerIdOf(d.a);
  return {
    time: new Date(d.t).toISOString(),
    author,
    authorName: mesh.nodeNames()[author] ?? null,
    entity: d.e,
    seq: d.s,
    lamport: d.l,
    ops: d.o,
    cid: env.id,
    parents: d.p.map(String),
  };
}

const show = (v: unknown) => (typeof v === 'string' && v.length > 60 ? JSON.stringify(v.slice(0, 57) + '...') : JSON.stringify(v));

export function describeOp(op: Op): string {
  switch (op[0]) {
    case 's': return `${op[1]}=${show(op[2])}`;
    case 'u': return `unset ${op[1]}`;
    case '+': return `+${op[1]} ${show(op[2])}`;
    case '-': return `-${op[1]} ${show(op[2])}`;
    case 'm': return `${op[1]}.${op[2]}=${show(op[3])}`;
    case 'x': return `unset ${op[1]}.${op[2]}`;
    case 'b': return `body (${op[1].length} chars)`;
  }
}

export type LogJson = ReturnType<typeof logJson>;

export function formatLogLine(mesh: Mesh, env: Envelope): string {
  return formatLogJson(logJson(mesh, env));
}

export function formatLogJson(j: LogJson): string {
  const who = `${j.authorName ?? '?'} (${j.author})`;
  return `${j.time}  ${who}  #${j.seq}  L${j.lamport}  ${j.entity}  ${j.ops.map(describeOp).join('; ')}  cid=${j.cid}${j.parents.length ? `  parents=${j.parents.join(',')}` : ''}`;
}

export function formatView(mesh: Mesh, view: EntityView): string {
  const lines = [`${view.entity}  (${view.count} datagrams, heads ${view.heads.length})`];
  for (const [k, v] of Object.entries(view.fields)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  if (view.body) lines.push('', ...view.body.split('\n').map((l) => `  | ${l}`));
  if (view.conflicts.length) {
    lines.push('', 'conflicts (concurrent values that lost):');
    for (const c of view.conflicts) {
      for (const l of c.losers) {
        const peer = peerIdOf(Buffer.from(l.author, 'hex'));
        lines.push(`  ${c.field}: ${JSON.stringify(c.winner)} won over ${JSON.stringify(l.value)} by ${mesh.authorName(peer)} (L${l.lamport}, ${l.id})`);
      }
    }
  }
  return lines.join('\n');
}
