import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import t from 'tap';
import {
  ALERTS_VERSION,
  type AlertRecord,
  type AlertsBatch,
  decodeAlertsBatch,
  encodeAlertsBatch,
  fitAlertText,
  MAX_ALERT_TEXT_BYTES,
  MAX_ALERTS_PAYLOAD_BYTES,
} from './alert.js';

const sampleAlert = (over: Partial<AlertRecord> = {}): AlertRecord => ({
  id: 'vertical-scan:203.0.113.10:2026-12-07T12:00:00.000Z',
  detector: 'vertical-scan',
  kind: 'fast',
  status: 'new',
  severity: 'low',
  source: '203.0.113.10',
  keyRole: 'source',
  targets: ['p:abcdefghijkl', '2001:db8::1'],
  ports: [22, 23, 80],
  protocols: ['tcp'],
  events: 20,
  distinctTargets: 2,
  distinctPorts: 20,
  distinctCapped: false,
  firstSeen: '2026-12-07T12:00:00.000Z',
  lastSeen: '2026-12-07T12:00:19.000Z',
  thresholds: { distinctPorts: 15, windowS: 60 },
  label: 'targeted',
  summary: '203.0.113.10 probed 20 ports on p:abcdefghijkl in 20 seconds.',
  advice: 'Check that only the services you mean to offer are reachable.',
  ...over,
});

const batch = (alerts: AlertRecord[], over: Partial<AlertsBatch> = {}): AlertsBatch => ({
  v: ALERTS_VERSION,
  device: 'dev-1',
  seq: 1_700_000_000_123,
  created: 1_765_108_800_000,
  alerts,
  ...over,
});

/** The same encoder settings as the codec, but no checks: what a hostile device could send. */
const raw = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false, useFloat32: 0 });

t.test('round trip: what is encoded decodes to the same batch', async (t) => {
  const b = batch([
    sampleAlert(),
    sampleAlert({ id: 'x:p:abcdefghijkl:t', source: 'p:abcdefghijkl', status: 'final' }),
  ]);
  const decoded = decodeAlertsBatch(encodeAlertsBatch(b));
  t.ok(decoded.ok);
  if (decoded.ok) t.same(decoded.batch, b);
});

t.test('encode refuses batches no caller should build', async (t) => {
  t.throws(() => encodeAlertsBatch(batch([])), RangeError);
  t.throws(() => encodeAlertsBatch(batch([sampleAlert()], { device: 'a/b' })), RangeError);
  t.throws(() => encodeAlertsBatch(batch(Array.from({ length: 65 }, () => sampleAlert()))), RangeError);
});

t.test('hostile or broken payloads are refused with a reason', async (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['not CBOR', Buffer.from('hello there, central'), /^cbor: /],
    ['oversized', new Uint8Array(MAX_ALERTS_PAYLOAD_BYTES + 1), /payload too large/],
    ['65 alerts', raw.encode(batch(Array.from({ length: 65 }, () => sampleAlert()))), /array too long/],
    ['a tag', raw.encode(batch([sampleAlert()], { created: new Date(0) as unknown as number })), /cbor: tag/],
    [
      'a summary over the text bound',
      raw.encode(batch([sampleAlert({ summary: 'x'.repeat(MAX_ALERT_TEXT_BYTES + 1) })])),
      /string too long/,
    ],
    ['wrong version', raw.encode({ ...batch([sampleAlert()]), v: 2 }), /schema: \/v/],
    ['an unknown field', raw.encode({ ...batch([sampleAlert()]), extra: 1 }), /schema: /],
    [
      'a source that is no address',
      raw.encode(batch([sampleAlert({ source: '<script>' })])),
      /schema: \/alerts\/0\/source/,
    ],
    [
      'a port out of range',
      raw.encode(batch([sampleAlert({ ports: [70000] })])),
      /schema: \/alerts\/0\/ports\/0/,
    ],
    [
      'a status no detector sends',
      raw.encode(batch([sampleAlert({ status: 'gone' as 'new' })])),
      /schema: \/alerts\/0\/status/,
    ],
    ['no alerts', raw.encode(batch([])), /schema: \/alerts/],
    ['an unrelated map', Buffer.from(raw.encode({ other: 1 })), /schema: /],
    [
      'nesting too deep',
      raw.encode(batch([sampleAlert({ thresholds: { a: [[1]] as unknown as number } })])),
      /cbor: too deep/,
    ],
  ];
  for (const [name, payload, reason] of cases) {
    const result = decodeAlertsBatch(payload);
    t.notOk(result.ok, name);
    if (!result.ok) t.match(result.reason, reason, name);
  }
});

t.test('the decoder never throws, whatever the bytes (property)', async (t) => {
  const good = encodeAlertsBatch(batch([sampleAlert()]));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      const r = decodeAlertsBatch(bytes);
      return typeof r.ok === 'boolean';
    }),
    { numRuns: 2000 },
  );
  // Mutations of a valid payload: each byte flipped somewhere, still a value with a reason or a batch.
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const copy = Uint8Array.from(good);
      copy[at] = value;
      const r = decodeAlertsBatch(copy);
      return r.ok ? r.batch.alerts.length === 1 : r.reason.length > 0;
    }),
    { numRuns: 2000 },
  );
  t.pass('no throw');
});

t.test('fitAlertText cuts long sentences at a character boundary within the byte bound', async (t) => {
  t.equal(fitAlertText('short'), 'short');
  const long = '€'.repeat(600); // 1,800 bytes
  const cut = fitAlertText(long);
  t.ok(Buffer.byteLength(cut) <= MAX_ALERT_TEXT_BYTES);
  t.ok(cut.endsWith('…'));
  t.notOk(cut.includes('\uFFFD'), 'no broken character');
  t.equal(fitAlertText('a\0b'), 'a\uFFFDb', 'no NUL reaches the wire');
  const decoded = decodeAlertsBatch(encodeAlertsBatch(batch([sampleAlert({ summary: cut })])));
  t.ok(decoded.ok, 'a fitted sentence decodes');
});
