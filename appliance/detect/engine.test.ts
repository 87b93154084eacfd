/**
 * The engine as a whole: detection must not depend on summarising (every fixture case gives the same
 * final alerts from its raw events and from their flow summaries), state stays bounded under a
 * spoofed-source flood, and suppression and the status snapshot work.
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import type { ConnectionEvent } from '../../protocol/event.js';
import { FlowSummariser } from '../summarise/summarise.js';
import type { Alert } from './alert.js';
import { createDetectionEngine, type EngineOptions } from './engine.js';
import { expandEvents, type FixtureCase } from './fixtures.js';
import { parseIgnoreList } from './ignore-list.js';

function finals(events: readonly ConnectionEvent[], options: EngineOptions = {}): Alert[] {
  const engine = createDetectionEngine(options);
  for (const e of events) engine.observe(e, 0);
  return [...engine.finish()];
}

/** What must not depend on summarising: which alerts, how bad, and how many raw events. */
function outcome(alerts: readonly Alert[]): string[] {
  return alerts.map((a) => `${a.detector} ${a.source} ${a.kind} ${a.severity} events=${a.events}`).sort();
}

/** The events as the agent would send them: flow summaries per 60 s window, on the events' clock. */
function summarised(events: readonly ConnectionEvent[]): ConnectionEvent[] {
  const s = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 50_000 });
  const out: ConnectionEvent[] = [];
  const take = (records: ReturnType<FlowSummariser['flushAll']>) => {
    for (const r of records) {
      const count = r.event.count ?? 1;
      out.push(count > 1 && r.lastSeen !== undefined ? { ...r.event, last_seen: r.lastSeen } : r.event);
    }
  };
  for (const e of events) {
    const nowMs = Date.parse(e.ts!);
    if (s.add(e, nowMs)) take(s.flushDue(nowMs));
  }
  take(s.flushAll());
  return out;
}

t.test('raw events and their summaries give the same final alerts (every fixture case)', async (t) => {
  const dir = new URL('./detectors/', import.meta.url);
  let compared = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(new URL(file, dir), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const c = JSON.parse(line) as FixtureCase;
      if (c.intel || c.background || c.ignore || c.settings) continue;
      const raw = expandEvents(c.events);
      const sum = summarised(raw);
      t.same(
        outcome(finals(sum)),
        outcome(finals(raw)),
        `${file}: ${c.case} (${raw.length} events, ${sum.length} records)`,
      );
      compared++;
    }
  }
  t.ok(compared >= 30, `compared ${compared} cases`);
});

t.test('a spoofed-source flood keeps state bounded and counts evictions', async (t) => {
  const engine = createDetectionEngine({ maxTrackedSources: 500 });
  const base = Date.parse('2024-03-11T20:00:00Z');
  for (let i = 0; i < 20_000; i++) {
    engine.observe(
      {
        ts: new Date(base + i).toISOString(),
        vendor: 'netfilter',
        src_ip: `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        src_port: 40000,
        dst_ip: `192.168.1.${i % 250}`,
        dst_port: 1000 + (i % 5000),
        proto: 'tcp',
        action: 'drop',
      },
      0,
    );
  }
  for (const d of engine.detectors()) t.ok(d.tracked <= 500 * 3, `${d.name} tracks ${d.tracked} keys`);
  const evicted = engine.detectors().reduce((n, d) => n + d.evicted, 0);
  t.ok(evicted > 10_000, `evictions counted (${evicted})`);
  t.equal(engine.counters.events, 20_000);
});

t.test('ignore list, background label, counters and the recent-alerts ring', async (t) => {
  const sweep = (src: string) =>
    expandEvents([{ src_ip: src, dst_ip: '192.168.1.{i}', dst_port: 8080, repeat: 12 }]);
  const ignore = parseIgnoreList('203.0.113.0/24, p:scannerscann');
  if (!ignore.ok) throw new Error(ignore.reason);
  const engine = createDetectionEngine({
    ignore: ignore.list,
    background: (a) => a === '198.51.100.5',
    recentAlerts: 2,
  });
  const raised: Alert[] = [];
  for (const e of [
    ...sweep('203.0.113.5'),
    ...sweep('198.51.100.5'),
    ...sweep('198.51.100.6'),
    ...sweep('198.51.100.7'),
  ])
    raised.push(...engine.observe(e, 0));
  t.same(
    raised.map((a) => [a.source, a.label]),
    [
      ['198.51.100.5', 'background'],
      ['198.51.100.6', 'targeted'],
      ['198.51.100.7', 'targeted'],
    ],
  );
  t.equal(engine.counters.ignored, 12, 'events of the ignored scanner are skipped and counted');
  t.equal(engine.counters.raised, 3);
  t.same(
    engine.alerts().map((a) => a.source),
    ['198.51.100.6', '198.51.100.7'],
    'the ring keeps the newest',
  );
  const closed = engine.tick(Date.parse('2024-03-12T00:00:00Z'));
  t.equal(closed.length, 3, 'quiet alerts close on a tick');
  t.ok(closed.every((a) => a.status === 'final'));
  t.equal(engine.counters.closed, 3);
  t.same(engine.finish(), [], 'nothing left open');
});

t.test('events without a timestamp use the caller clock; a bad one is counted', async (t) => {
  const engine = createDetectionEngine({ enabled: ['vertical-scan'] });
  const now = Date.parse('2024-03-11T20:00:00Z');
  let alerts: readonly Alert[] = [];
  for (let i = 0; i < 15; i++) {
    const e: ConnectionEvent = {
      vendor: 'netfilter',
      src_ip: '203.0.113.10',
      dst_ip: 'p:hosthosthost',
      dst_port: 2000 + i,
      proto: 'tcp',
      action: 'drop',
      ...(i === 3 ? { ts: 'not a time' } : {}),
    };
    alerts = engine.observe(e, now + i * 1000);
  }
  t.equal(alerts[0]?.firstSeen, '2024-03-11T20:00:00.000Z');
  t.equal(alerts[0]?.lastSeen, '2024-03-11T20:00:14.000Z');
  t.equal(engine.counters.badTimestamps, 1);
});
