import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import t from 'tap';
import { sampleHealth } from './health.fixture.js';
import {
  decodeHealthReport,
  encodeHealthReport,
  isValidHealthReport,
  MAX_HEALTH_PAYLOAD_BYTES,
} from './health.js';

/** The same encoder settings as the codec, but no checks: what a hostile device could send. */
const raw = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false, useFloat32: 0 });

t.test('round trip: what is encoded decodes to the same heartbeat', async (t) => {
  for (const report of [
    sampleHealth(),
    sampleHealth({ uptimeS: null, cpuLoadPct: null, memory: null, disk: null, temperatureC: null }),
    sampleHealth({
      sources: { count: 0, active: 0, byFormat: {} },
      uplink: { lastUploadAt: null, restarts: 3, connects: 0 },
      outbox: { events: 1e6, bytes: 5e8, state: 'full', lostEvents: 42 },
      detection: false,
    }),
  ]) {
    t.ok(isValidHealthReport(report));
    const encoded = encodeHealthReport(report);
    t.ok(encoded.length < 512, `small (${encoded.length} bytes)`);
    const decoded = decodeHealthReport(encoded);
    t.ok(decoded.ok);
    if (decoded.ok) t.same(decoded.report, report);
  }
});

t.test('encode refuses heartbeats no caller should build', async (t) => {
  t.throws(() => encodeHealthReport(sampleHealth({ device: 'a/b' })), RangeError);
  t.throws(() => encodeHealthReport({ ...sampleHealth(), v: 2 as 1 }), RangeError);
});

t.test('hostile or broken payloads are refused with a reason', async (t) => {
  const formats = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 1]));
  const cases: [string, Uint8Array, RegExp][] = [
    ['not CBOR', Buffer.from('hello there, central'), /^cbor: /],
    ['oversized', new Uint8Array(MAX_HEALTH_PAYLOAD_BYTES + 1), /payload too large/],
    ['empty', new Uint8Array(0), /cbor: truncated/],
    ['a tag', raw.encode(sampleHealth({ at: new Date(0) as unknown as number })), /cbor: tag/],
    ['an array anywhere', raw.encode({ ...sampleHealth(), extra: [1] }), /cbor: array too long/],
    [
      'too many formats',
      raw.encode(sampleHealth({ sources: { count: 40, active: 0, byFormat: formats } })),
      /map too large/,
    ],
    ['a long string', raw.encode(sampleHealth({ version: 'x'.repeat(65) })), /string too long/],
    [
      'nesting too deep',
      raw.encode(
        sampleHealth({ sources: { count: 1, active: 1, byFormat: { a: { b: 1 } as unknown as number } } }),
      ),
      /cbor: too deep/,
    ],
    ['wrong version', raw.encode({ ...sampleHealth(), v: 2 }), /schema: \/v/],
    ['an unknown field', raw.encode({ ...sampleHealth(), extra: 1 }), /schema: /],
    ['a missing field', raw.encode((({ outbox: _o, ...rest }) => rest)(sampleHealth())), /schema: /],
    [
      'a negative count',
      raw.encode(sampleHealth({ parse: { parsed: -1, unparsed: 0 } })),
      /schema: \/parse\/parsed/,
    ],
    [
      'a source address as a format name',
      raw.encode(sampleHealth({ sources: { count: 1, active: 1, byFormat: { '192.0.2.1': 1 } } })),
      /schema: \/sources\/byFormat/,
    ],
    ['markup in the version', raw.encode(sampleHealth({ version: '<script>' })), /schema: \/version/],
    [
      'an outbox state no agent has',
      raw.encode(sampleHealth({ outbox: { events: 0, bytes: 0, state: 'gone' as 'ok', lostEvents: 0 } })),
      /schema: \/outbox\/state/,
    ],
    ['a load over 100 %', raw.encode(sampleHealth({ cpuLoadPct: 1e9 })), /schema: \/cpuLoadPct/],
    ['NaN', raw.encode(sampleHealth({ temperatureC: Number.NaN })), /schema: \/temperatureC/],
    ['a __proto__ key', Buffer.from(raw.encode(JSON.parse('{"__proto__":{"x":1}}'))), /schema: /],
  ];
  for (const [name, payload, reason] of cases) {
    const result = decodeHealthReport(payload);
    t.notOk(result.ok, name);
    if (!result.ok) t.match(result.reason, reason, name);
  }
});

t.test('the decoder never throws, whatever the bytes (property)', async (t) => {
  const good = encodeHealthReport(sampleHealth());
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 1024 }),
      (bytes) => typeof decodeHealthReport(bytes).ok === 'boolean',
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const copy = Uint8Array.from(good);
      copy[at] = value;
      const r = decodeHealthReport(copy);
      return r.ok ? isValidHealthReport(r.report) : r.reason.length > 0;
    }),
    { numRuns: 2000 },
  );
  t.pass('no throw');
});
