import t from 'tap';
import { INTEL_TOPIC_FILTER, intelTopic } from '../../protocol/topics.js';
import { type BrokerIdentity, mayPublish, maySubscribe, sharedSubscriptionFilter } from './acl.js';
import { renderMosquittoAcl } from './mosquitto-config.js';

const deviceA: BrokerIdentity = { kind: 'device', deviceId: 'dev-a' };
const ingest: BrokerIdentity = { kind: 'ingest' };

t.test('a device publishes only its own uplink kinds', async (t) => {
  t.ok(mayPublish(deviceA, 'ca/v1/dev/dev-a/up/events'));
  t.ok(mayPublish(deviceA, 'ca/v1/dev/dev-a/up/health'));
  t.notOk(mayPublish(deviceA, 'ca/v1/dev/dev-b/up/events'), "another device's topic");
  t.notOk(mayPublish(deviceA, 'ca/v1/dev/dev-a/up/other'), 'unknown kind');
  t.notOk(mayPublish(deviceA, 'ca/v1/dev/dev-a/down/config'), 'its own downlink');
  t.notOk(mayPublish(deviceA, 'ca/v1/intel/blocklist'));
  t.notOk(mayPublish(deviceA, 'ca/v1/dev/dev-a/up/events/extra'));
  t.notOk(mayPublish({ kind: 'device', deviceId: 'dev' }, 'ca/v1/dev/dev-a/up/events'), 'prefix id');
});

t.test('a device subscribes only to its downlink and intel', async (t) => {
  t.ok(maySubscribe(deviceA, 'ca/v1/dev/dev-a/down/#'));
  t.ok(maySubscribe(deviceA, 'ca/v1/dev/dev-a/down/config'));
  t.ok(maySubscribe(deviceA, 'ca/v1/intel/#'));
  t.notOk(maySubscribe(deviceA, 'ca/v1/dev/dev-b/down/#'), "another device's downlink");
  t.notOk(maySubscribe(deviceA, 'ca/v1/dev/+/down/#'), 'wildcard over devices');
  t.notOk(maySubscribe(deviceA, 'ca/v1/#'));
  t.notOk(maySubscribe(deviceA, '#'));
  t.notOk(maySubscribe(deviceA, 'ca/v1/dev/dev-a/up/events'), 'its own uplink');
  t.notOk(maySubscribe(deviceA, '$share/g/ca/v1/dev/dev-a/down/#'), 'shared subscriptions are for ingest');
});

t.test('ingest reads every uplink and writes downlinks and intel', async (t) => {
  t.ok(maySubscribe(ingest, '$share/ingest/ca/v1/dev/+/up/events'));
  t.ok(maySubscribe(ingest, 'ca/v1/dev/+/up/#'));
  t.notOk(maySubscribe(ingest, 'ca/v1/dev/+/down/#'));
  t.notOk(maySubscribe(ingest, '#'));
  t.notOk(maySubscribe(ingest, '$share//ca/v1/dev/+/up/events'), 'empty share group');
  t.ok(mayPublish(ingest, 'ca/v1/dev/dev-a/down/config'));
  t.ok(mayPublish(ingest, 'ca/v1/intel/blocklist'));
  t.notOk(mayPublish(ingest, 'ca/v1/dev/dev-a/up/events'), 'cannot forge device uplinks');
});

t.test('shared subscription prefix', async (t) => {
  t.equal(sharedSubscriptionFilter('$share/g/a/b'), 'a/b');
  t.equal(sharedSubscriptionFilter('a/b'), 'a/b');
  t.equal(sharedSubscriptionFilter('$share/g'), undefined);
  t.equal(sharedSubscriptionFilter('$share/+/a'), undefined);
});

t.test(
  'intel: every device reads the lists, only central writes them (embedded and Mosquitto rules)',
  async (t) => {
    const deviceB: BrokerIdentity = { kind: 'device', deviceId: 'dev-b' };
    for (const device of [deviceA, deviceB]) {
      t.ok(maySubscribe(device, INTEL_TOPIC_FILTER), `${device.kind} reads ${INTEL_TOPIC_FILTER}`);
      t.ok(maySubscribe(device, intelTopic('campaigns', 'full')));
      for (const kind of ['full', 'delta'] as const) {
        t.notOk(mayPublish(device, intelTopic('campaigns', kind)), `a device cannot write the ${kind} list`);
        t.notOk(mayPublish(device, intelTopic('scanners', kind)));
      }
      t.notOk(maySubscribe(device, '$share/g/ca/v1/intel/#'));
    }
    t.ok(mayPublish(ingest, intelTopic('campaigns', 'full')));
    t.ok(mayPublish(ingest, intelTopic('campaigns', 'delta')));
    t.notOk(mayPublish(ingest, 'ca/v1/intel/#'), 'no wildcard publish');
    t.notOk(maySubscribe(ingest, INTEL_TOPIC_FILTER), 'central does not read the lists back');

    const acl = renderMosquittoAcl(['dev-revoked']).split('\n');
    const centralAt = acl.indexOf('user central-ingest');
    t.ok(
      acl.indexOf('pattern read ca/v1/intel/#') >= 0 && acl.indexOf('pattern read ca/v1/intel/#') < centralAt,
    );
    const writes = acl.filter((line) => /write ca\/v1\/intel/.test(line));
    t.same(writes, ['topic write ca/v1/intel/#'], 'one write rule for the intel topics…');
    t.ok(acl.indexOf(writes[0]!) > centralAt, '…and it is the central identity’s');
    t.notOk(
      acl.some((line) => line.startsWith('pattern') && line.includes('write ca/v1/intel')),
      'no per-device write to intel',
    );
  },
);
