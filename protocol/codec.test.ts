import assert from 'node:assert/strict';
import type { TSchema } from '@sinclair/typebox';
import { encode as cborEncode, Encoder } from 'cbor-x';
import fc from 'fast-check';
import t from 'tap';
import { BATCH_VERSION, type Batch } from './batch.js';
import { CBOR_REASONS, scanCbor } from './cbor-scan.js';
import { batchEventCount, decodeBatch, encodeBatch } from './codec.js';
import { ACTIONS, type ConnectionEvent, ConnectionEventSchema } from './event.js';
import { limits } from './limits.js';
import { DEVICE_ID_PATTERN } from './topics.js';

// ---- arbitraries derived from the schema, so a new event field is generated without edits here ----

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Text within the schema's maxLength (UTF-16 units) and the wire's maxStringBytes (UTF-8 bytes). */
const textArb = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength }),
      fc.string({ unit: 'grapheme-ascii', minLength: maxLength, maxLength }),
    )
    // fast-check counts code points; the schema counts UTF-16 units, the wire counts UTF-8 bytes.
    // The schema forbids NUL (PostgreSQL text cannot hold it), so generated text never carries one.
    .filter((s) => s.length <= maxLength && utf8Bytes(s) <= limits.maxStringBytes && !s.includes('\u0000'));

const integerArb = (min: number, max: number): fc.Arbitrary<number> =>
  max <= 0x7fffffff
    ? fc.integer({ min, max })
    : fc.oneof(
        fc.integer({ min, max: 0x7fffffff }),
        fc.maxSafeNat().filter((n) => n >= min && n <= max),
      );

function fieldArb(key: string, schema: TSchema): fc.Arbitrary<unknown> {
  if (key === 'action') return fc.constantFrom(...ACTIONS);
  if (schema.type === 'string') return textArb(schema.maxLength as number);
  if (schema.type === 'integer') return integerArb(schema.minimum as number, schema.maximum as number);
  throw new Error(`no arbitrary for event field ${key}; extend codec.test.ts`);
}

const eventArb = fc.record(
  Object.fromEntries(
    Object.entries(ConnectionEventSchema.properties).map(([key, schema]) => [key, fieldArb(key, schema)]),
  ),
  { requiredKeys: ConnectionEventSchema.required ?? [], noNullPrototype: true },
) as unknown as fc.Arbitrary<ConnectionEvent>;

const batchArb = (maxEvents = 40): fc.Arbitrary<Batch> =>
  fc.record(
    {
      v: fc.constant(BATCH_VERSION),
      device: fc.stringMatching(DEVICE_ID_PATTERN),
      seq: fc.maxSafeNat(),
      created: fc.maxSafeNat(),
      events: fc.array(eventArb, { maxLength: maxEvents }),
    },
    { noNullPrototype: true },
  );

// ---- helpers for hand-built payloads ----

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const reasonOf = (payload: Uint8Array): string => {
  const r = decodeBatch(payload);
  return r.ok ? 'ok' : r.reason;
};
const sampleEvent = (i: number): ConnectionEvent => ({
  vendor: 'netfilter',
  action: 'deny',
  src_ip: '203.0.113.5',
  src_port: 1024 + i,
  dst_ip: '198.51.100.10',
  dst_port: 22,
  proto: 'tcp',
});
const sampleBatch = (events = 3): Batch => ({
  v: 1,
  device: 'dev-1',
  seq: 42,
  created: 1_760_000_000_000,
  events: Array.from({ length: events }, (_, i) => sampleEvent(i)),
});
/** Plain cbor-x encoding of anything (no envelope checks), for payloads our encoder refuses to build. */
const rawEncode = (value: unknown): Uint8Array =>
  new Encoder({ useRecords: false, variableMapSize: true }).encode(value);

// ---- properties ----

t.test('round trip of arbitrary valid batches', async (t) => {
  fc.assert(
    fc.property(batchArb(), (batch) => {
      const payload = encodeBatch(batch);
      const scan = scanCbor(payload);
      assert.deepEqual(scan, { ok: true }, 'our own encoding passes the scanner');
      const decoded = decodeBatch(payload);
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
      assert.deepStrictEqual(decoded.batch, batch);
    }),
    { numRuns: 300 },
  );
  t.pass('300 batches');
});

t.test('decoding arbitrary bytes never throws and gives a reason', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (payload) => {
      const r = decodeBatch(payload);
      return !r.ok && typeof r.reason === 'string' && r.reason.length > 0;
    }),
    { numRuns: 5000 },
  );
  t.pass('5000 arbitrary byte arrays');
});

t.test('decoding arbitrary CBOR values never throws', async (t) => {
  // Well-formed CBOR gets past the first bytes, so this exercises the decode and schema stages.
  fc.assert(
    fc.property(
      fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true }),
      (value) => {
        let payload: Uint8Array;
        try {
          payload = cborEncode(value);
        } catch {
          return true;
        }
        const r = decodeBatch(payload);
        return !r.ok && r.reason.length > 0;
      },
    ),
    { numRuns: 2000 },
  );
  t.pass('2000 arbitrary values');
});

t.test('mutated valid encodings never throw', async (t) => {
  const encoded = batchArb(8).map((b) => encodeBatch(b));
  fc.assert(
    fc.property(
      encoded,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }),
      (payload, flips) => {
        const copy = Uint8Array.from(payload);
        for (const [at, bit] of flips) copy[at % copy.length]! ^= 1 << bit;
        const r = decodeBatch(copy);
        // A flip may land on a value and still be valid; then the result must satisfy the schema.
        return r.ok ? typeof r.batch.seq === 'number' : r.reason.length > 0;
      },
    ),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(encoded, fc.nat(), (payload, cut) => {
      const r = decodeBatch(payload.subarray(0, cut % payload.length));
      return !r.ok && r.reason === CBOR_REASONS.truncated;
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(encoded, fc.uint8Array({ minLength: 1, maxLength: 16 }), (payload, extra) => {
      const r = decodeBatch(Uint8Array.from(Buffer.concat([payload, extra])));
      return !r.ok && r.reason === CBOR_REASONS.trailingBytes;
    }),
    { numRuns: 1000 },
  );
  t.pass('bit flips, truncations and appended bytes');
});

// ---- specific hostile payloads ----

t.test('hostile payloads each give their reason', async (t) => {
  const valid = encodeBatch(sampleBatch());
  t.equal(reasonOf(valid), 'ok', 'the unmodified sample decodes');

  t.equal(
    reasonOf(hex('7b 00000000 80000000')),
    CBOR_REASONS.stringTooLong,
    '2 GiB string declared in 9 bytes',
  );
  t.equal(
    reasonOf(hex('a2 61 76 01 66 646576696365 7b 00000000 80000000')),
    CBOR_REASONS.stringTooLong,
    '2 GiB string as the device',
  );
  t.equal(reasonOf(hex('9b 00000001 00000000')), CBOR_REASONS.arrayTooLong, 'array declaring 2^32 items');
  t.equal(
    reasonOf(Uint8Array.from(Buffer.concat([Buffer.alloc(1000, 0x81), Buffer.of(0x80)]))),
    CBOR_REASONS.tooDeep,
    '1000-deep nested arrays',
  );
  t.equal(reasonOf(hex('bf 61 76 01 ff')), CBOR_REASONS.indefiniteLength, 'indefinite-length map');
  t.equal(reasonOf(hex('d8 1c a0')), CBOR_REASONS.tag, 'tag 28 (cbor-x shareable)');
  t.equal(reasonOf(hex('d8 1d 00')), CBOR_REASONS.tag, 'tag 29 (cbor-x shared reference)');
  t.equal(reasonOf(hex('d9 7fff 00')), CBOR_REASONS.tag, 'tag 0x7fff');

  // What cbor-x itself emits when records, structured clones or bundled strings are switched on.
  const shared = { vendor: 'x', action: 'deny' };
  const asRecords = new Encoder({ useRecords: true }).encode(sampleBatch());
  const asClone = new Encoder({ structuredClone: true }).encode({
    ...sampleBatch(),
    events: [shared, shared],
  });
  const asBundle = new Encoder({ useRecords: false, bundleStrings: true }).encode(sampleBatch(50));
  t.equal(reasonOf(asRecords), CBOR_REASONS.tag, 'cbor-x records (tags 0xdfff / 0xe000+)');
  t.equal(reasonOf(asClone), CBOR_REASONS.tag, 'cbor-x structured clone with a shared reference');
  t.equal(reasonOf(asBundle), CBOR_REASONS.tag, 'cbor-x bundled strings');
  t.equal(reasonOf(rawEncode({ ...sampleBatch(), created: new Date() })), CBOR_REASONS.tag, 'a Date (tag 1)');

  t.equal(reasonOf(new Uint8Array(limits.maxPayloadBytes + 1)), 'payload too large', 'maxPayloadBytes + 1');
  t.equal(reasonOf('not bytes' as unknown as Uint8Array), 'payload not bytes');
  t.equal(reasonOf(null as unknown as Uint8Array), 'payload not bytes');

  t.match(reasonOf(rawEncode({ ...sampleBatch(), v: 2 })), /^schema: \/v /, 'wrong version');
  t.equal(
    reasonOf(rawEncode({ ...sampleBatch(), extra: 1 })),
    'schema: /extra Unexpected property',
    'unknown key',
  );
  t.match(
    reasonOf(rawEncode({ ...sampleBatch(), device: 'a/b' })),
    /^schema: \/device /,
    'device id with a slash',
  );
  t.match(reasonOf(rawEncode({ ...sampleBatch(), seq: -1 })), /^schema: \/seq /, 'negative seq');
  t.match(
    reasonOf(rawEncode({ ...sampleBatch(), created: 1.5 })),
    /^schema: \/created /,
    'fractional created',
  );
  t.equal(reasonOf(rawEncode([sampleBatch()])), 'schema: / Expected object', 'an array, not a map');
  const badPort = sampleBatch(5);
  (badPort.events[3] as { src_port: number }).src_port = 65536;
  t.equal(
    reasonOf(rawEncode(badPort)),
    'schema: /events/3/src_port Expected integer to be less or equal to 65535',
    'the reason names the first bad field',
  );
  const longKey = rawEncode({ ...sampleBatch(), ['k'.repeat(250)]: 1 });
  const longReason = reasonOf(longKey);
  t.ok(longReason.startsWith('schema: /kkk') && longReason.length === 200, 'reasons are capped at 200 chars');

  const withLongRule = sampleBatch();
  withLongRule.events[0]!.rule = 'r'.repeat(limits.maxStringBytes + 1);
  t.equal(reasonOf(encodeBatch(withLongRule)), CBOR_REASONS.stringTooLong, 'a 257-byte string');
});

t.test('a __proto__ key does not pollute prototypes', async (t) => {
  const top = rawEncode(
    JSON.parse('{"v":1,"device":"d","seq":0,"created":0,"events":[],"__proto__":{"polluted":1}}'),
  );
  t.ok(Buffer.from(top).includes(Buffer.from('__proto__')), 'the payload really carries the key');
  t.equal(reasonOf(top), 'schema: /__proto_ Unexpected property');
  const nested = rawEncode(
    JSON.parse(
      '{"v":1,"device":"d","seq":0,"created":0,"events":[{"vendor":"x","action":"deny","__proto__":{"polluted":1}}]}',
    ),
  );
  t.equal(reasonOf(nested), 'schema: /events/0/__proto_ Unexpected property');
  t.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype untouched');
  t.notOk(Object.hasOwn(Object.prototype, 'polluted'));

  const ok = decodeBatch(encodeBatch(sampleBatch()));
  t.ok(ok.ok && Object.getPrototypeOf(ok.batch) === Object.prototype, 'decoded objects are plain objects');
  t.ok(ok.ok && Object.getPrototypeOf(ok.batch.events[0]) === Object.prototype);
});

t.test('decodes from a view into a larger buffer', async (t) => {
  const payload = encodeBatch(sampleBatch());
  const big = Buffer.alloc(payload.length + 20, 0xff);
  big.set(payload, 7);
  const r = decodeBatch(big.subarray(7, 7 + payload.length));
  t.ok(r.ok);
  if (r.ok) t.strictSame(r.batch, sampleBatch());
});

t.test('encodeBatch', async (t) => {
  const payload = encodeBatch(sampleBatch());
  t.equal(payload[0], 0xa5, 'a plain map in preferred serialisation, no tag');
  const first = Uint8Array.from(payload);
  encodeBatch({ ...sampleBatch(), seq: 7 });
  t.strictSame(Uint8Array.from(payload), first, 'a later encode does not overwrite an earlier result');

  t.throws(() => encodeBatch({ ...sampleBatch(), v: 2 } as unknown as Batch), RangeError);
  t.throws(() => encodeBatch({ ...sampleBatch(), device: 'a/b' }), RangeError);
  t.throws(() => encodeBatch(sampleBatch(limits.maxEventsPerBatch + 1)), RangeError);

  // The outbox splits on length, so an oversize batch is returned, not thrown.
  const big = sampleBatch(limits.maxEventsPerBatch);
  for (const e of big.events) e.rule = 'r'.repeat(128);
  const oversize = encodeBatch(big);
  t.ok(oversize.length > limits.maxPayloadBytes, 'oversize payload returned for the caller to split');
  t.equal(reasonOf(oversize), 'payload too large');
  const half = encodeBatch({ ...big, events: big.events.slice(0, 2500) });
  t.ok(half.length <= limits.maxPayloadBytes);
  t.equal(reasonOf(half), 'ok', 'a full-size valid batch decodes');
});

t.test('batchEventCount honours count', async (t) => {
  const batch = sampleBatch(3);
  t.equal(batchEventCount(batch), 3);
  batch.events[0]!.count = 40;
  batch.events[2]!.count = 1;
  t.equal(batchEventCount(batch), 42, 'a summary of 40 counts 40');
  t.equal(batchEventCount({ ...batch, events: [] }), 0);
});

t.test('compressed batches: round trip, and only when it pays', async (t) => {
  const { compressBatchPayload, COMPRESSED_MARKER } = await import('./codec.js');
  const cbor = encodeBatch(sampleBatch(500));
  const packed = compressBatchPayload(cbor);
  t.equal(packed[0], COMPRESSED_MARKER);
  t.ok(packed.length < cbor.length / 5, `500 similar events shrink (${cbor.length} → ${packed.length})`);
  const decoded = decodeBatch(packed);
  t.ok(decoded.ok);
  if (decoded.ok) t.same(decoded.batch, sampleBatch(500));
  const tiny = encodeBatch(sampleBatch(0));
  t.equal(compressBatchPayload(tiny), tiny, 'a tiny batch stays plain');
});

t.test('compressed payloads are bounded: zip bombs, corrupt streams and nesting are refused', async (t) => {
  const { brotliCompressSync } = await import('node:zlib');
  const { COMPRESSED_MARKER, COMPRESSION_BROTLI, compressBatchPayload } = await import('./codec.js');
  const wrap = (body: Uint8Array, alg = COMPRESSION_BROTLI) =>
    Uint8Array.from([COMPRESSED_MARKER, alg, ...body]);
  // 16 MiB of zeros compresses to a few dozen bytes: inflation stops at maxPayloadBytes.
  const bomb = wrap(brotliCompressSync(Buffer.alloc(16 * 1024 * 1024)));
  t.ok(bomb.length < 10_000, `the bomb is small on the wire (${bomb.length} B)`);
  const started = Date.now();
  t.equal(reasonOf(bomb), 'compression: too large');
  t.ok(Date.now() - started < 2000, 'refused quickly');
  t.equal(reasonOf(wrap(Buffer.from('not brotli at all'))), 'compression: corrupt');
  t.equal(
    reasonOf(wrap(brotliCompressSync(encodeBatch(sampleBatch())), 0x07)),
    'compression: unknown algorithm',
  );
  t.equal(reasonOf(Uint8Array.from([COMPRESSED_MARKER])), 'compression: unknown algorithm');
  const inner = compressBatchPayload(encodeBatch(sampleBatch(500)));
  t.equal(reasonOf(wrap(brotliCompressSync(inner))), CBOR_REASONS.tag, 'compression inside compression');
  // Inflates within the limit but is not a batch: the usual strict decode still applies.
  t.equal(reasonOf(wrap(brotliCompressSync(rawEncode({ v: 2 })))).startsWith('schema:'), true);
});

t.test('arbitrary bytes behind the compression marker never throw', async (t) => {
  const { COMPRESSED_MARKER, COMPRESSION_BROTLI } = await import('./codec.js');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (body) => {
      const r = decodeBatch(Uint8Array.from([COMPRESSED_MARKER, COMPRESSION_BROTLI, ...body]));
      return r.ok === false || r.ok === true;
    }),
    { numRuns: 300 },
  );
  t.pass('300 random bodies decoded to a value');
});

t.test('loss records: round trip and strict decode', async (t) => {
  const { decodeLossRecord, encodeLossRecord } = await import('./codec.js');
  const record = {
    v: 1 as const,
    device: 'dev-1',
    reason: 'evicted: outbox full' as const,
    events: 1234,
    batches: 3,
    first_seq: 10,
    last_seq: 12,
    first_ts: 1_760_000_000_000,
    last_ts: 1_760_000_060_000,
  };
  const decoded = decodeLossRecord(encodeLossRecord(record));
  t.same(decoded, { ok: true, record });
  const bad = (value: unknown) => {
    const r = decodeLossRecord(rawEncode(value));
    return r.ok ? 'ok' : r.reason;
  };
  t.match(bad({ ...record, reason: 'made up' }), /^schema:/);
  t.match(bad({ ...record, extra: 1 }), /^schema:/);
  t.equal(bad({ ...record, first_seq: 13 }), 'loss: seq range reversed');
  t.equal(decodeLossRecord(new Uint8Array(5000)).ok, false, 'oversize refused');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => decodeLossRecord(bytes).ok === false || true),
    { numRuns: 300 },
  );
});
