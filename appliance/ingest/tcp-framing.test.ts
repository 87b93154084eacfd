import fc from 'fast-check';
import t from 'tap';
import { SyslogFrameDecoder } from './tcp-framing.js';

function decodeAll(chunks: Buffer[], max = 1024) {
  const frames: string[] = [];
  const decoder = new SyslogFrameDecoder(max, (f) => frames.push(f.toString('utf8')));
  for (const c of chunks) decoder.push(c);
  decoder.end();
  return { frames, decoder };
}

t.test('newline framing, CRLF and NUL trimmed, last line without LF kept', async (t) => {
  const { frames, decoder } = decodeAll([Buffer.from('<13>one\r\n<13>two\0\n\n<13>thr'), Buffer.from('ee')]);
  t.same(frames, ['<13>one', '<13>two', '<13>three']);
  t.equal(decoder.framing, 'newline');
});

t.test('octet counting (RFC 6587 §3.4.1) with embedded newlines, split anywhere', async (t) => {
  const msgs = ['<13>first line\nwith a second line', '<14>x', '<15>ünïcode'];
  const wire = Buffer.concat(
    msgs.map((m) => Buffer.concat([Buffer.from(`${Buffer.byteLength(m)} `), Buffer.from(m)])),
  );
  for (let cut = 1; cut < wire.length; cut++) {
    const { frames, decoder } = decodeAll([wire.subarray(0, cut), wire.subarray(cut)]);
    t.same(frames, msgs, `split at ${cut}`);
    t.equal(decoder.framing, 'octet');
  }
});

t.test('oversized frames are truncated and counted, the stream stays in sync', async (t) => {
  const big = 'A'.repeat(5000);
  const octet = Buffer.from(`${big.length} ${big}3 <1>`);
  const a = decodeAll([octet], 100);
  t.same(a.frames, ['A'.repeat(100), '<1>']);
  t.equal(a.decoder.counters.truncated, 1);
  const nl = decodeAll([Buffer.from(`${big}\n<2>ok\n`)], 100);
  t.same(nl.frames, ['A'.repeat(100), '<2>ok']);
  t.equal(nl.decoder.counters.truncated, 1);
});

t.test('a bad octet count falls back to newline framing and is counted', async (t) => {
  const { frames, decoder } = decodeAll([Buffer.from('12x not a count\n<13>next\n')]);
  t.same(frames, ['12x not a count', '<13>next']);
  t.equal(decoder.counters.framingErrors, 1);
  t.equal(decoder.framing, 'newline');
});

t.test('property: arbitrary chunks never throw and buffer at most max + header bytes', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 20 }), (chunks) => {
      const decoder = new SyslogFrameDecoder(512, (f) => {
        if (f.length > 512) throw new Error('frame over the limit');
      });
      for (const c of chunks) decoder.push(Buffer.from(c));
      decoder.end();
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass('no throw');
});

t.test('property: newline-framed messages round trip whatever the chunking', async (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.string({ minLength: 1, maxLength: 80 }).filter((s) => !/[\n\r\0]/.test(s) && !/^\d/.test(s)),
        { minLength: 1, maxLength: 20 },
      ),
      fc.array(fc.nat({ max: 2000 }), { maxLength: 5 }),
      (msgs, cuts) => {
        const wire = Buffer.from(msgs.map((m) => `${m}\n`).join(''));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(wire.subarray(prev, p));
          prev = p;
        }
        chunks.push(wire.subarray(prev));
        const { frames } = decodeAll(chunks, 4096);
        return JSON.stringify(frames) === JSON.stringify(msgs.filter((m) => m.length > 0));
      },
    ),
    { numRuns: 300 },
  );
  t.pass('round trips');
});

t.test('property: any chunking frames exactly as one read does (frames, truncation, counters)', async (t) => {
  // A small alphabet and limit reach every path: octet headers, bad counts, oversized frames in both
  // modes, CR/NUL trimming, and frames that straddle reads longer than a frame.
  const piece = fc.oneof(
    fc.constantFrom('\n', '\r\n', '\0', ' ', 'x'),
    fc.integer({ min: 0, max: 40 }).map((n) => 'A'.repeat(n)),
    fc.integer({ min: 0, max: 40 }).map((n) => `${n} ${'B'.repeat(n)}`),
    fc.nat().map(String),
  );
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 60 }).map((pieces) => pieces.join('')),
      fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 40 }),
      (text, sizes) => {
        const wire = Buffer.from(text, 'latin1');
        const decode = (chunks: Buffer[]) => {
          const frames: string[] = [];
          const decoder = new SyslogFrameDecoder(16, (f, truncated) =>
            frames.push(`${truncated ? 'T' : ''}${f.toString('latin1')}`),
          );
          for (const c of chunks) decoder.push(c);
          decoder.end();
          return JSON.stringify({ frames, counters: decoder.counters, mode: decoder.framing });
        };
        const chunks: Buffer[] = [];
        for (let pos = 0, i = 0; pos < wire.length; i++) {
          const n = sizes[i % sizes.length]!;
          chunks.push(wire.subarray(pos, pos + n));
          pos += n;
        }
        return decode(chunks) === decode([wire]);
      },
    ),
    { numRuns: 3000 },
  );
  t.pass('chunking never changes the result');
});
