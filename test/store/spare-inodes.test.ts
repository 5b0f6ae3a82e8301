// The spare-inode pool renders write through (src/store/spare-inodes.ts), on real files: a replaced file's
// inode is written again by a later temporary file, never while it is still the live file, only once it
// has rested, and the pool stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SpareInodes } from '../../src/store/spare-inodes.js';

function folder(): { dir: string; spare: string; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocli-mesh-spares-'));
  return { dir, spare: path.join(dir, 'spare'), done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** One atomic replacement as a render does it: temporary file (through the pool), then rename over `file`. */
function replace(pool: SpareInodes, file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  pool.take(tmp);
  fs.writeFileSync(tmp, text);
  pool.keep(file);
  fs.renameSync(tmp, file);
}

test('a replaced file\'s inode is written again by a later replacement, and every version reads whole', () => {
  const f = folder();
  try {
    const pool = new SpareInodes(f.spare, { restMs: 0 });
    const file = path.join(f.dir, '_index.md');
    replace(pool, file, 'one\n'); // no old file yet: nothing kept
    const first = fs.statSync(file).ino;
    replace(pool, file, 'two\n'); // the first inode goes to the pool
    assert.equal(fs.readFileSync(file, 'utf8'), 'two\n');
    assert.deepEqual(fs.readdirSync(f.spare).length, 1);
    replace(pool, file, 'three, longer than before\n'); // written into the first inode
    assert.equal(fs.statSync(file).ino, first);
    assert.equal(fs.readFileSync(file, 'utf8'), 'three, longer than before\n');
    assert.deepEqual(fs.readdirSync(f.dir).sort(), ['_index.md', 'spare']); // no temporary left behind
  } finally {
    f.done();
  }
});

test('a spare that is still the live file (a crash between keeping it and the rename) is dropped, not written', () => {
  const f = folder();
  try {
    const file = path.join(f.dir, '_index.md');
    fs.writeFileSync(file, 'live contents\n');
    const crashed = new SpareInodes(f.spare, { restMs: 0 });
    crashed.keep(file); // ... and the process dies before its rename
    const next = new SpareInodes(f.spare, { restMs: 0 }); // a later process reads the pool from the folder
    const tmp = path.join(f.dir, '._index.md.tmp');
    next.take(tmp);
    assert.equal(fs.existsSync(tmp), false, 'the spare was not handed out');
    assert.equal(fs.readFileSync(file, 'utf8'), 'live contents\n');
    assert.equal(fs.statSync(file).nlink, 1, 'the spare name is gone; the live file keeps its contents');
    assert.deepEqual(fs.readdirSync(f.spare), []);
  } finally {
    f.done();
  }
});

test('a spare rests before it is written again, and the pool keeps at most its bound', () => {
  const f = folder();
  try {
    const resting = new SpareInodes(f.spare, { restMs: 60_000, max: 3 });
    const files = Array.from({ length: 5 }, (_, i) => path.join(f.dir, `f${i}`));
    for (const file of files) fs.writeFileSync(file, 'old\n');
    for (const file of files) replace(resting, file, 'new\n');
    assert.equal(fs.readdirSync(f.spare).length, 3, 'bounded');
    // none has rested yet: a further replacement gets a fresh inode, and the spares keep the old contents
    replace(resting, files[0]!, 'newer\n');
    for (const name of fs.readdirSync(f.spare)) assert.equal(fs.readFileSync(path.join(f.spare, name), 'utf8'), 'old\n');
  } finally {
    f.done();
  }
});
