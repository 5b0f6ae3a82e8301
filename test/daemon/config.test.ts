// The daemon's settings: defaults, the config file's "daemon" section, flags over both, and a clear
// error naming the key for every bad value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonConfig, DEFAULT_DAEMON } from '../../src/daemon/config.js';
import { ConfigError, type NodeConfig } from '../../src/identity/identity.js';

const PEER = '12D3KooWND4aJJbqQiGrExt2FhZkmf3SG1H7VFFr7ratU4LDo9fF';
const base = (daemon?: unknown) => ({ name: 'n', cluster: 'c', ...(daemon === undefined ? {} : { daemon }) }) as NodeConfig;

test('defaults, then the config file, then flags', () => {
  assert.deepEqual(daemonConfig(base(), 'cfg'), DEFAULT_DAEMON);
  const fromFile = daemonConfig(base({ mdns: false, bootstrap: [`/ip4/10.0.0.2/tcp/4717/p2p/${PEER}`] }), 'cfg');
  assert.equal(fromFile.mdns, false);
  assert.equal(fromFile.bootstrap.length, 1);
  const flagged = daemonConfig(base({ mdns: false, listen: ['/ip4/0.0.0.0/tcp/1'] }), 'cfg', { mdns: true, listen: ['/ip4/127.0.0.1/tcp/0'] });
  assert.equal(flagged.mdns, true);
  assert.deepEqual(flagged.listen, ['/ip4/127.0.0.1/tcp/0']);
});

test('every bad value is refused with the key and the reason', () => {
  const bad: [unknown, RegExp][] = [
    ['yes', /"daemon" must be an object/],
    [{ port: 1 }, /unknown setting "daemon.port"/],
    [{ listen: 'x' }, /"daemon.listen" must be a list/],
    [{ listen: ['/ip4/1.2.3/tcp/1'] }, /listen: "\/ip4\/1.2.3\/tcp\/1" is not a multiaddr/],
    [{ listen: [] }, /at least one listen address/],
    [{ bootstrap: ['/ip4/10.0.0.2/tcp/4717'] }, /must end in \/p2p\/<PeerID>/],
    [{ mdns: 'no' }, /"daemon.mdns" must be true or false/],
    [{ trusted: ['not-a-peer'] }, /trusted: "not-a-peer" is not a PeerID/],
    [{ compactEveryMinutes: -1 }, /compactEveryMinutes/],
  ];
  for (const [daemon, message] of bad) {
    assert.throws(() => daemonConfig(base(daemon), '/x/config.json'), (err: Error) => err instanceof ConfigError && message.test(err.message) && err.message.startsWith('/x/config.json'), JSON.stringify(daemon));
  }
});
