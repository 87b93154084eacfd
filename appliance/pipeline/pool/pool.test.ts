/**
 * The worker-thread pipeline gives what the one-thread pipeline gives: the same events in the same
 * order, the same counters and source stats; and it stays honest under load and failure: congestion
 * is signalled, overflow and dead workers are counted, never silent.
 */
import t from 'tap';
import { resolveConfig } from '../../../common/config.js';
import type { ConnectionEvent } from '../../../protocol/event.js';
import { generateTraffic } from '../../../tools/demo/traffic.js';
import { AgentConfigSchema } from '../../config.js';
import { SourceIntake } from '../../ingest/intake.js';
import {
  minimisePolicyFromSettings,
  type PrivacyRecipe,
  pickPrivacySettings,
} from '../../minimise/policy-config.js';
import { FlowSummariser } from '../../summarise/summarise.js';
import { workerCount } from '../agent-pipeline.js';
import { Pipeline } from '../pipeline.js';
import { joinSources } from '../sources.js';
import { PipelinePool, type PipelinePoolOptions, workerOldGenerationMb } from './pool.js';

// The agent's default privacy settings.
const privacy: PrivacyRecipe = {
  settings: pickPrivacySettings(resolveConfig(AgentConfigSchema, {})),
  key: new Uint8Array(32).fill(9),
};
const NOW = new Date('2026-11-25T12:00:00Z');
const lines = generateTraffic(3000, { seed: 7, now: NOW });
const sourceOf = (i: number) => `192.0.2.${1 + (i % 3)}`;

async function startPool(options: Partial<PipelinePoolOptions> = {}) {
  const events: ConnectionEvent[] = [];
  const intake = new SourceIntake();
  const pool = await PipelinePool.start({ append: (e) => events.push(e) }, intake, {
    workers: 2,
    privacy,
    ...options,
  });
  t.teardown(async () => {
    await pool.close();
    intake.close();
  });
  return { pool, events };
}

/** The reference: the same lines through the one-thread stages, the intake counted as the agent does. */
function oneThread(summariser?: FlowSummariser) {
  const events: ConnectionEvent[] = [];
  const intake = new SourceIntake();
  const pipeline = new Pipeline(
    { append: (e) => events.push(e) },
    {
      privacy: minimisePolicyFromSettings(privacy.settings, () => privacy.key),
      ...(summariser && { summariser }),
    },
  );
  lines.forEach((line, i) => {
    const key = intake.admit(sourceOf(i), Buffer.byteLength(line), false, 0)!;
    pipeline.accept(line, key, 'tcp');
  });
  pipeline.flushAll();
  pipeline.close();
  const outcomes = new Map(pipeline.sources().map((o) => [o.source, o]));
  const sources = joinSources(intake.list(), (source) => outcomes.get(source), new Map());
  intake.close();
  return { events, counters: pipeline.counters, sources };
}

/**
 * Feeds every line as a TCP listener would: yielding to the event loop now and then (so batches of
 * many sizes form) and pausing while the pool is congested.
 */
async function feed(pool: PipelinePool) {
  for (let i = 0; i < lines.length; i++) {
    pool.accept(Buffer.from(lines[i]!), sourceOf(i), 'tcp', false);
    if (pool.congested) await new Promise<void>((r) => pool.whenRelieved(r));
    else if (i % 37 === 0) await new Promise((r) => setImmediate(r));
  }
}

t.test('same events in the same order, same counters and sources as one thread', async (t) => {
  const reference = oneThread();
  // Small batches: many in flight at once across both workers, answered out of order.
  const { pool, events } = await startPool({ batchMessages: 7 });
  await feed(pool);
  await pool.flushAll();
  t.equal(events.length, reference.events.length);
  t.same(events, reference.events, 'event for event, in arrival order');
  const c = pool.counters;
  t.match(c, {
    received: lines.length,
    parsed: reference.counters.parsed,
    unparsed: reference.counters.unparsed,
    queued: 0,
    overloaded: 0,
    workerLost: 0,
    byTransport: { tcp: lines.length, udp: 0, tls: 0 },
  });
  t.ok(reference.counters.unparsed > 0, 'the traffic has noise, so unparsed is exercised');
  t.same(c.byFamily, reference.counters.byFamily);
  t.same(c.unparsedReasons, reference.counters.unparsedReasons);
  t.same(c.minimise, reference.counters.minimise);
  const bySource = (list: { source: string }[]) => [...list].sort((a, b) => (a.source < b.source ? -1 : 1));
  // Each source here mixes vendors, so its "format" (the family parsed last) depends on which worker
  // answered last; the counts may not.
  const strip = ({
    firstSeen,
    lastSeen,
    unparsedSamples,
    format,
    confidence,
    formatFrom,
    ...rest
  }: Record<string, unknown>) => rest;
  t.same(
    bySource(pool.sources()).map((s) => strip({ ...s })),
    bySource(reference.sources).map((s) => strip({ ...s })),
  );
  t.ok(pool.sources().every((s) => s.unparsedSamples.length > 0 && s.unparsedSamples.length <= 5));
  t.ok(pool.sources().every((s) => s.format !== undefined && s.format in reference.counters.byFamily));
});

t.test('summaries: every parsed event is counted exactly once across the workers', async (t) => {
  const windowMs = 60_000;
  const reference = oneThread(new FlowSummariser({ windowMs, maxOpenKeys: 50_000 }));
  const { pool, events } = await startPool({ summary: { windowMs, maxOpenKeys: 50_000 } });
  // Windows are aligned to the wall clock: a run that straddles a window's end (more likely on a busy
  // machine, where the run is slower) rightly gives a flow one record per window it was seen in.
  const firstWindow = Math.floor(Date.now() / windowMs);
  await feed(pool);
  await pool.flushAll();
  const windows = Math.floor(Date.now() / windowMs) - firstWindow + 1;
  const raw = (list: ConnectionEvent[]) => list.reduce((sum, e) => sum + (e.count ?? 1), 0);
  t.equal(raw(events), pool.counters.parsed);
  t.equal(raw(events), raw(reference.events));
  // The summariser's flow key: the fields a record is summed over.
  const flow = (e: ConnectionEvent) =>
    [e.vendor, e.src_ip, e.dst_ip, e.dst_port, e.proto, e.action, e.direction].join('|');
  const recordsPerFlow = new Map<string, number>();
  for (const e of events) recordsPerFlow.set(flow(e), (recordsPerFlow.get(flow(e)) ?? 0) + 1);
  const most = Math.max(...recordsPerFlow.values());
  t.ok(most <= 2 * windows, `at most one record per flow per worker and window (${most} ≤ 2 × ${windows})`);
  t.ok(recordsPerFlow.size < raw(events), 'flows repeat, so the bound is exercised');
  t.equal(pool.counters.summarise?.heldEvents, 0, 'nothing held after flushAll');
});

t.test('congestion pauses, overflow is counted, nothing silently dropped', async (t) => {
  const { pool } = await startPool({ maxQueuedMessages: 10, overloadMessages: 20 });
  const frame = Buffer.from(lines[0]!);
  for (let i = 0; i < 50; i++) pool.accept(frame, '192.0.2.1', 'udp', false);
  t.equal(pool.congested, true, 'congested past maxQueuedMessages');
  const relieved = new Promise<void>((resolve) => pool.whenRelieved(resolve));
  await relieved;
  t.equal(pool.congested, false);
  await pool.flushAll();
  const c = pool.counters;
  t.equal(c.overloaded, 30, 'over overloadMessages: counted');
  t.equal(c.received, 50);
  t.equal(c.parsed + c.unparsed + c.overloaded, 50, 'every message accounted for');
});

t.test('a worker that dies is replaced; what it held is counted as lost', async (t) => {
  const failures: number[] = [];
  const { pool, events } = await startPool({
    workers: 1,
    workerUrl: new URL('./crashing-worker.fixture.ts', import.meta.url),
    flushTimeoutMs: 1000,
    onWorkerFailure: (_err, lost) => failures.push(lost),
  });
  const send = async (line: string, n: number) => {
    for (let i = 0; i < n; i++) pool.accept(Buffer.from(line), '192.0.2.9', 'udp', false);
    await new Promise((r) => setImmediate(r)); // one batch
  };
  const good = lines.find((l) => l.includes('UFW'))!;
  await send(good, 3);
  await send(`${good} CRASH-THE-WORKER`, 2);
  await send(good, 4);
  // The thread may end at once or hang with its port closed; flushAll ends a worker that does not answer.
  await pool.flushAll();
  const before = pool.counters;
  t.equal(failures.length, 1, 'reported once');
  t.ok(failures[0]! >= 2, 'at least the batch it died on is lost');
  t.equal(before.workerLost, failures[0], 'and counted');
  t.equal(before.received, 9);
  t.equal(before.parsed + before.workerLost, 9, 'every message parsed or counted as lost');
  t.equal(events.length, before.parsed);

  await send(good, 4);
  await pool.flushAll();
  const after = pool.counters;
  t.equal(after.parsed, before.parsed + 4, 'the replacement worker parses');
  t.equal(after.workerLost, before.workerLost, 'totals kept across the replacement');
  t.equal(pool.sources()[0]?.parsed, after.parsed, "source totals include the dead worker's");
});

t.test('a worker that reaches its heap cap is ended and replaced; the agent runs on', async (t) => {
  const failures: Error[] = [];
  const { pool, events } = await startPool({
    workers: 1,
    workerUrl: new URL('./crashing-worker.fixture.ts', import.meta.url),
    flushTimeoutMs: 30_000, // longer than running out of 48 MB takes: the cap, not the timeout, ends it
    onWorkerFailure: (err) => failures.push(err),
  });
  const good = lines.find((l) => l.includes('UFW'))!;
  pool.accept(Buffer.from(`${good} EXHAUST-THE-HEAP`), '192.0.2.9', 'tcp', false);
  await new Promise((r) => setImmediate(r));
  // Sent while it fills its heap: never answered.
  for (let i = 0; i < 2; i++) pool.accept(Buffer.from(good), '192.0.2.9', 'tcp', false);
  await new Promise((r) => setImmediate(r));
  await t.resolves(pool.flushAll());
  t.equal(failures.length, 1, 'reported once');
  t.match(failures[0]?.message, /out of memory|heap/i, 'as running out of its heap');
  t.equal(pool.counters.workerLost, 2, 'what it held is counted as lost');
  for (let i = 0; i < 3; i++) pool.accept(Buffer.from(good), '192.0.2.9', 'tcp', false);
  await pool.flushAll();
  t.equal(events.length, 4, 'the replacement parses');
  const { received, parsed, unparsed, workerLost } = pool.counters;
  t.equal(received, parsed + unparsed + workerLost, 'every message parsed or counted as lost');
});

t.test('a worker that cannot start fails start-up with a clear error', async (t) => {
  await t.rejects(
    PipelinePool.start({ append: () => {} }, new SourceIntake(), {
      workers: 1,
      privacy,
      workerUrl: new URL('./no-such-worker.js', import.meta.url),
    }),
    /a parse worker could not start: .*no-such-worker/,
  );
});

t.test('worker count and heap cap follow the settings', async (t) => {
  t.equal(workerCount(-1, 2), 2, 'auto: one per core');
  t.equal(workerCount(-1, 1), 0, 'one core: the main thread parses');
  t.equal(workerCount(3, 8), 3, 'an explicit count is kept');
  t.equal(workerCount(0, 8), 0);
  // Room for each worker's share of the open summary flows (~0.7 KB each) above its base.
  t.ok(workerOldGenerationMb(25_000) - workerOldGenerationMb(0) >= (25_000 * 0.7) / 1024);
});
