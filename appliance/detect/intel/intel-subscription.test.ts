import { generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import t from 'tap';
import { INTEL_TOPIC_FILTER, intelTopic } from '../../../protocol/topics.js';
import type { IntelReceiveResult } from './intel-store.js';
import { attachIntel, loadIntelKey, readIntelKey } from './intel-subscription.js';

const pem = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;

t.test('the key: absent or broken means intel off, with the reason; one or more keys', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'intel-key-'));
  t.match(readIntelKey(dir), { ok: false, reason: /no intel-signing\.pub/ });
  const warned: unknown[] = [];
  t.equal(loadIntelKey(dir, { warn: (obj: object) => warned.push(obj) } as never), undefined);
  t.match(warned, [{ reason: /intel lists are off/ }]);
  writeFileSync(join(dir, 'intel-signing.pub'), 'garbage');
  t.match(readIntelKey(dir), { ok: false, reason: /no PEM public key/ });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  writeFileSync(join(dir, 'intel-signing.pub'), ec);
  t.match(readIntelKey(dir), { ok: false, reason: /Ed25519/ });
  writeFileSync(join(dir, 'intel-signing.pub'), pem() + pem());
  t.equal(loadIntelKey(dir)?.size, 2, 'a new key announced beside the current one');
});

class FakeClient extends EventEmitter {
  connected = false;
  subscriptions: string[] = [];
  subscribe(filter: string, _opts: unknown, cb: (err: Error | null, granted: { qos: number }[]) => void) {
    this.subscriptions.push(filter);
    cb(null, [{ qos: 1 }]);
  }
}

t.test('subscribes on every connect, routes intel topics to the store and logs refusals', async (t) => {
  const client = new FakeClient();
  const received: { bytes: Uint8Array; expect: unknown }[] = [];
  const answers: IntelReceiveResult[] = [
    { ok: true, list: 'campaigns', action: 'full', version: 3, persisted: true },
    { ok: false, list: 'campaigns', reason: 'expired/stale', detail: 'issued long ago' },
  ];
  const store = {
    receive: (bytes: Uint8Array, expect?: unknown) => {
      received.push({ bytes, expect });
      return answers.shift()!;
    },
  };
  const logs: { level: string; obj: object; msg: string }[] = [];
  const log = (level: string) => (obj: object, msg: string) => logs.push({ level, obj, msg });
  const sub = attachIntel(client as unknown as MqttClient, store, {
    info: log('info'),
    warn: log('warn'),
    debug: log('debug'),
  });
  t.same(client.subscriptions, [], 'not connected yet');
  client.emit('connect');
  client.emit('connect'); // a reconnect: clean session, subscribe again
  t.same(client.subscriptions, [INTEL_TOPIC_FILTER, INTEL_TOPIC_FILTER]);

  client.emit('message', 'ca/v1/dev/x/down/config', Buffer.from('not intel'));
  client.emit('message', intelTopic('campaigns', 'full'), Buffer.from([1, 2, 3]));
  client.emit('message', intelTopic('campaigns', 'full'), Buffer.from([4]));
  t.equal(received.length, 2, 'only intel topics reach the store');
  t.same(received[0]?.expect, { list: 'campaigns', kind: 'full' });
  t.same([...received[0]!.bytes], [1, 2, 3]);
  t.match(logs, [
    { level: 'info', msg: 'intel list applied', obj: { list: 'campaigns', version: 3 } },
    { level: 'warn', msg: 'intel list refused', obj: { list: 'campaigns', reason: 'expired/stale' } },
  ]);
  t.equal(sub.counters.received, 2);

  sub.detach();
  client.emit('connect');
  client.emit('message', intelTopic('campaigns', 'delta'), Buffer.from([5]));
  t.equal(client.subscriptions.length, 2, 'detached: no more subscriptions');
  t.equal(received.length, 2);
});
