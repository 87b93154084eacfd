/**
 * `npm run bench -- uplink [--lines N]`: what the uplink costs the member.
 *
 * 1. Codec matrix (in process, one core): the demo's realistic replay (browsing, scans, brute force;
 *    FortiGate, netfilter, pfSense, Cisco ASA) parsed, minimised and summarised like the agent does,
 *    sealed into 2,000-record batches; bytes and CPU per batch for plain CBOR, gzip levels and
 *    brotli qualities, and brotli over integer-keyed CBOR (what cbor-x records / a fixed key table
 *    would buy). This is the measurement behind BROTLI_QUALITY in protocol/codec.ts.
 * 2. End to end: the same replay over TCP into a real agent uplinking to a real central (embedded
 *    broker + PGlite): raw bytes in, MQTT bytes on the wire (PUBLISH packets: header, topic, packet
 *    id, payload), bytes per raw event, events/s until central has stored everything.
 * Progress on stderr; one JSON line on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brotliCompressSync, gzipSync, constants as z } from 'node:zlib';
import { Encoder } from 'cbor-x';
import { AgentConfigSchema } from '../../appliance/config.js';
import { minimise, newMinimiseCounters } from '../../appliance/minimise/minimise.js';
import { minimisePolicyFromSettings } from '../../appliance/minimise/policy-config.js';
import { parseMessage } from '../../appliance/parse/registry.js';
import { replay } from '../../appliance/replay/replay.js';
import { FlowSummariser } from '../../appliance/summarise/summarise.js';
import { resolveConfig } from '../../common/config.js';
import { encodeBatch } from '../../protocol/codec.js';
import { type ConnectionEvent, EVENT_KEYS } from '../../protocol/event.js';
import { issueDevice, startAgentProcess, startCentralProcess, waitFor } from '../demo/harness.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '200000' } } });
const total = Number(values.lines);
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---- 1. codec matrix ----
const lines = generateTraffic(total, { seed: 11, noiseShare: 0.05 });
const policy = minimisePolicyFromSettings(
  resolveConfig(AgentConfigSchema, {}), // the agent's default privacy settings
  () => new Uint8Array(32).fill(7),
);
const now = new Date();
const counters = newMinimiseCounters();
const raw: ConnectionEvent[] = [];
for (const line of lines) {
  const r = parseMessage(line, now);
  if (r.ok) raw.push(minimise(r.event, policy, counters));
}
// generateTraffic spaces lines 5 ms apart: feed the summariser that clock, 60 s windows (the default).
const summariser = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 50_000 });
const summaries: ConnectionEvent[] = [];
const t0 = Date.now();
raw.forEach((e, i) => {
  if (summariser.add(e, t0 + i * 5)) for (const r of summariser.flushDue(t0 + i * 5)) summaries.push(r.event);
});
for (const r of summariser.flushAll()) summaries.push(r.event);
log(`codec matrix: ${raw.length} raw events → ${summaries.length} summary records`);

const intKeyEncoder = new Encoder({ useRecords: false, variableMapSize: true, mapsAsObjects: false });
function intKeyed(events: readonly ConnectionEvent[]): Uint8Array {
  const keyIndex = new Map(EVENT_KEYS.map((k, i) => [k as string, i]));
  return intKeyEncoder.encode({
    v: 1,
    device: 'bench-device',
    seq: 1,
    created: Date.now(),
    events: events.map((e) => new Map(Object.entries(e).map(([k, v]) => [keyIndex.get(k), v]))),
  });
}
function timeMs(fn: () => Uint8Array): { bytes: number; ms: number } {
  let out = fn();
  const started = process.hrtime.bigint();
  let n = 0;
  while (Number(process.hrtime.bigint() - started) < 250e6) {
    out = fn();
    n++;
  }
  return { bytes: out.length, ms: Number((Number(process.hrtime.bigint() - started) / 1e6 / n).toFixed(2)) };
}
const codecs: Record<string, (b: Uint8Array) => Uint8Array> = {
  plain: (b) => b,
  gzip1: (b) => gzipSync(b, { level: 1 }),
  gzip6: (b) => gzipSync(b, { level: 6 }),
  gzip9: (b) => gzipSync(b, { level: 9 }),
  ...Object.fromEntries(
    [1, 4, 5, 6, 9].map((q) => [
      `br${q}`,
      (b: Uint8Array) =>
        brotliCompressSync(b, {
          params: { [z.BROTLI_PARAM_QUALITY]: q, [z.BROTLI_PARAM_SIZE_HINT]: b.length },
        }),
    ]),
  ),
};
const matrix: Record<string, unknown> = {};
for (const [name, events] of [
  ['raw', raw.slice(0, 2000)],
  ['summaries', summaries.slice(0, 2000)],
] as const) {
  const rawEvents = events.reduce((n, e) => n + (e.count ?? 1), 0);
  const cbor = encodeBatch({ v: 1, device: 'bench-device', seq: 1, created: Date.now(), events });
  const rows: Record<string, unknown> = {};
  for (const [codec, fn] of Object.entries(codecs)) {
    const { bytes, ms } = timeMs(() => fn(cbor));
    rows[codec] = { bytes, bytesPerRawEvent: Number((bytes / rawEvents).toFixed(3)), msPerBatch: ms };
  }
  const ik = intKeyed(events);
  const ikBr = timeMs(() => codecs.br5!(ik));
  rows.intKeysBr5 = {
    bytes: ikBr.bytes,
    bytesPerRawEvent: Number((ikBr.bytes / rawEvents).toFixed(3)),
    msPerBatch: ikBr.ms,
    plainBytes: ik.length,
  };
  matrix[name] = { records: events.length, rawEvents, rows };
  log(`${name}: ${JSON.stringify(matrix[name])}`);
}

// ---- 2. end to end ----
const dir = mkdtempSync(join(tmpdir(), 'ca-bench-uplink-'));
const central = await startCentralProcess(join(dir, 'central'));
await issueDevice(central.dataDir, 'bench-uplink', join(dir, 'agent', 'identity'));
const agent = await startAgentProcess(
  join(dir, 'agent'),
  join(dir, 'agent', 'identity'),
  `mqtts://localhost:${central.brokerPort}`,
  ['--max-messages-per-source-per-s', '0', '--uplink-max-bytes-per-s', '0', '--summary-window-s', '10'],
);
try {
  const started = process.hrtime.bigint();
  const sent = await replay(lines, { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 0 });
  log(`replayed ${sent.sent} lines (${sent.bytes} bytes) in ${sent.seconds.toFixed(1)} s`);
  const done = await waitFor(
    'central to store every parsed event',
    async () => {
      const a = (await (await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)).json()) as {
        pipeline: { received: number; parsed: number; summarise?: { heldEvents: number } };
        outbox: { acceptedEvents: number; depthEvents: number; pendingEvents: number };
        uplink: { bytesSent: number; wireBytes: number; publishedBatches: number };
      };
      const c = await central.stats();
      return a.pipeline.received >= sent.sent &&
        (a.pipeline.summarise?.heldEvents ?? 0) === 0 &&
        a.outbox.pendingEvents === 0 &&
        a.outbox.depthEvents === 0 &&
        c.stored >= a.pipeline.parsed
        ? { a, c }
        : undefined;
    },
    300_000,
    250,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const parsed = done.a.pipeline.parsed;
  const endToEnd = {
    lines: sent.sent,
    rawBytesIn: sent.bytes,
    parsedEvents: parsed,
    storedEvents: done.c.stored,
    batches: done.a.uplink.publishedBatches,
    payloadBytes: done.a.uplink.bytesSent,
    wireBytes: done.a.uplink.wireBytes,
    wireBytesPerRawEvent: Number((done.a.uplink.wireBytes / parsed).toFixed(3)),
    compressionRatio: Number((sent.bytes / done.a.uplink.wireBytes).toFixed(1)),
    eventsPerS: Math.round(parsed / seconds),
    seconds: Number(seconds.toFixed(1)),
    summaryWindowS: 10,
  };
  log(JSON.stringify(endToEnd));
  process.stdout.write(`${JSON.stringify({ bench: 'uplink', matrix, endToEnd })}\n`);
} finally {
  await agent.kill();
  await central.kill();
  rmSync(dir, { recursive: true, force: true });
}
