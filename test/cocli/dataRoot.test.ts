// Tests for src/cocli/dataRoot.ts: COCLI_DATA_HOME, platform bases, COCLI_ENV.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveDataRoot } from '../../src/cocli/index.js';

test('platform bases with data/ in production', () => {
  assert.equal(resolveDataRoot({}, 'linux', '/home/u'), '/home/u/.local/share/cocli/data');
  assert.equal(resolveDataRoot({}, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/cocli/data');
  assert.equal(
    resolveDataRoot({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'),
    'C:\\Users\\u\\AppData\\Local\\cocli\\data',
  );
  assert.equal(resolveDataRoot({ COCLI_ENV: 'production' }, 'linux', '/home/u'), '/home/u/.local/share/cocli/data');
  assert.equal(resolveDataRoot({ COCLI_ENV: 'prod' }, 'linux', '/home/u'), '/home/u/.local/share/cocli/data');
});

test('non-production COCLI_ENV uses data_dev', () => {
  assert.equal(resolveDataRoot({ COCLI_ENV: 'dev' }, 'linux', '/home/u'), '/home/u/.local/share/cocli/data_dev');
  assert.equal(resolveDataRoot({ COCLI_ENV: 'staging' }, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/cocli/data_dev');
});

test('COCLI_DATA_HOME wins, with ~ expanded and symlinks resolved', () => {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cocli-root-')));
  try {
    const real = path.join(tmp, 'real');
    fs.mkdirSync(real);
    const link = path.join(tmp, 'link');
    fs.symlinkSync(real, link);
    assert.equal(resolveDataRoot({ COCLI_DATA_HOME: link, COCLI_ENV: 'dev' }, 'linux', '/home/u'), real);
    assert.equal(resolveDataRoot({ COCLI_DATA_HOME: '~/link' }, 'linux', tmp), real);
    // a path that does not exist yet: the existing prefix is still resolved
    assert.equal(resolveDataRoot({ COCLI_DATA_HOME: path.join(link, 'new', 'dir') }, 'linux', '/h'), path.join(real, 'new', 'dir'));
    assert.equal(resolveDataRoot({ COCLI_DATA_HOME: '/no/such/place' }, 'linux', '/h'), '/no/such/place');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
