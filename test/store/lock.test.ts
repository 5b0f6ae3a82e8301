// The root lock's lease: a long-running node keeps the lock between transactions, yet another process
// or Store that wants it gets it, nothing is lost, and no lock file is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mesh } from '../../src/mesh/mesh.js';
import { newReplica, removeRoots } from '../support/replicas.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function runWriter(root: string, tag: string, count: number, lease: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [path.join(here, 'writer-process.js'), root, tag, String(count), ...(lease ? ['lease'] : [])];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => resolve(code ?? -1));
  });
}

test('a process on a lease and one without share a root: nothing lost, and no lock left behind', async () => {
  const m = await newReplica('lease-procs');
  try {
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    const codes = await Promise.all([runWriter(m.root, 'a', 40, true), runWriter(m.root, 'b', 40, false)]);
    assert.deepEqual(codes, [0, 0]);
    const lockDir = path.join(m.root, '.mesh');
    assert.equal(fs.existsSync(path.join(lockDir, 'lock')), false, 'the leaseholder removed the lock file at exit');
    assert.equal(fs.existsSync(path.join(lockDir, 'lock.want')), false, 'the waiter removed lock.want once it held the lock');
    const reopened = await Mesh.open(m.root);
    assert.deepEqual(Object.values(reopened.frontier()), [82]);
    const tags = (await reopened.read('companies/acme-inc')).fields.tags as string[];
    for (let i = 0; i < 40; i++) assert.ok(tags.includes(`a${i}`) && tags.includes(`b${i}`));
    assert.deepEqual(reopened.verify().failures, []);
  } finally {
    removeRoots(m);
  }
});

test('a lease is kept between transactions, given up for a fresh lock.want, and a stale one is ignored', async () => {
  const m = await newReplica('lease-want');
  const lock = path.join(m.root, '.mesh', 'lock');
  const want = path.join(m.root, '.mesh', 'lock.want');
  try {
    m.store.setLockLease(60_000);
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    assert.ok(fs.existsSync(lock), 'kept on the lease after the transaction');
    // a lock.want left long ago by a waiter that died: ignored
    fs.writeFileSync(want, '{}');
    const hourAgo = new Date(Date.now() - 3_600_000);
    fs.utimesSync(want, hourAgo, hourAgo);
    await m.update('companies/acme-inc', [['s', 'city', 'Austin']]);
    assert.ok(fs.existsSync(lock), 'a stale lock.want does not end the lease');
    // a waiter touching lock.want now: released after the current transaction
    fs.writeFileSync(want, '{}');
    await m.update('companies/acme-inc', [['s', 'state', 'TX']]);
    assert.equal(fs.existsSync(lock), false, 'released for the waiter');
    fs.rmSync(want);
    m.store.setLockLease(0);
    await m.update('companies/acme-inc', [['s', 'zip_code', '78701']]);
    assert.equal(fs.existsSync(lock), false, 'without a lease the lock is released at once');
  } finally {
    removeRoots(m);
  }
});

test('a second Store in the same process gets a lock held on a lease at once, and both writers keep everything', async () => {
  const a = await newReplica('lease-local');
  try {
    a.store.setLockLease(60_000); // far longer than the test: only being told directly releases it
    const b = await Mesh.open(a.root);
    for (let i = 0; i < 10; i++) {
      await a.update('companies/acme-inc', [['+', 'tags', `a${i}`]]);
      await b.update('companies/acme-inc', [['+', 'tags', `b${i}`]]);
    }
    const tags = (await b.read('companies/acme-inc')).fields.tags as string[];
    assert.equal(tags.length, 20);
    a.store.setLockLease(0);
    assert.deepEqual(b.verify().failures, []);
  } finally {
    removeRoots(a);
  }
});
