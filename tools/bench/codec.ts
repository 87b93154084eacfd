/**
 * `npm run bench -- codec [--events N] [--ms N]`: single-core cost of the wire codec on realistic
 * batches (events parsed from the demo's synthetic traffic): encode, strict pre-scan, and the whole
 * strict decode central runs per batch. Ends with one JSON line.
 */
import { parseArgs } from 'node:util';
import { parseMessage } from '../../appliance/parse/registry.js';
import type { Batch } from '../../protocol/batch.js';
import { scanCbor } from '../../protocol/cbor-scan.js';
import { decodeBatch, encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '2000' }, ms: { type: 'string', default: '2000' } },
});
const perBatch = Number(values.events);
const budgetMs = Number(values.ms);
const now = new Date();
const events: ConnectionEvent[] = [];
for (const line of generateTraffic(perBatch * 2, { seed: 5 })) {
  const r = parseMessage(line, now);
  if (r.ok && events.length < perBatch) events.push(r.event);
}
const batch: Batch = { v: 1, device: 'bench-device', seq: 1, created: Date.now(), events };
const payload = encodeBatch(batch);

function rate(label: string, fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const started = process.hrtime.bigint();
  const budget = BigInt(budgetMs) * 1_000_000n;
  while (process.hrtime.bigint() - started < budget) {
    fn();
    n++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const eventsPerS = Math.round((n * events.length) / seconds);
  process.stderr.write(
    `${label.padEnd(8)} ${((seconds * 1000) / n).toFixed(2)} ms/batch  ${eventsPerS.toLocaleString('en-GB')} events/s\n`,
  );
  return eventsPerS;
}

process.stderr.write(
  `batch: ${events.length} events, ${payload.length} bytes CBOR (${(payload.length / events.length).toFixed(1)} B/event)\n`,
);
const encode = rate('encode', () => encodeBatch(batch));
const scan = rate('scan', () => scanCbor(payload));
const decode = rate('decode', () => {
  if (!decodeBatch(payload).ok) throw new Error('bench batch does not decode');
});
process.stdout.write(
  `${JSON.stringify({ bench: 'codec', eventsPerBatch: events.length, payloadBytes: payload.length, bytesPerEvent: Number((payload.length / events.length).toFixed(1)), encodeEventsPerS: encode, scanEventsPerS: scan, decodeEventsPerS: decode })}\n`,
);
