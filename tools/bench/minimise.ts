/**
 * `npm run bench -- minimise [--ms N]`: single-core throughput of the privacy boundary and the flow
 * summariser on the parsed events of every fixture line, with internal source addresses spread over
 * 4,096 hosts and external peers over 65,536 (so the pseudonym cache and the flow map see realistic
 * churn). Target: minimise ≥ 200,000 events/s. Ends with one JSON line.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createMinimisePolicy, minimise, newMinimiseCounters } from '../../appliance/minimise/minimise.js';
import { parseMessage } from '../../appliance/parse/registry.js';
import { FlowSummariser } from '../../appliance/summarise/summarise.js';
import { projectRoot } from '../../common/version.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { FIXTURE_NOW, fixtureLines } from './lib/fixture-lines.js';

function sampleEvents(count: number): ConnectionEvent[] {
  const fixtureDir = join(projectRoot(), 'appliance', 'parse', 'families');
  const parsed: ConnectionEvent[] = [];
  for (const file of readdirSync(fixtureDir).sort()) {
    if (!file.endsWith('.jsonl') || file === 'header.jsonl') continue;
    for (const raw of fixtureLines(join(fixtureDir, file))) {
      const r = parseMessage(raw, FIXTURE_NOW);
      if (r.ok) parsed.push(r.event);
    }
  }
  const out: ConnectionEvent[] = [];
  for (let i = 0; i < count; i++) {
    const e = parsed[i % parsed.length]!;
    const internal = `192.168.${(i >> 8) & 15}.${i & 255}`;
    const external = `198.51.${(i * 7919) & 255}.${(i * 104729) & 255}`;
    out.push(
      i % 2 === 0
        ? { ...e, src_ip: internal, dst_ip: external }
        : { ...e, src_ip: external, dst_ip: internal },
    );
  }
  return out;
}

function measure(
  budgetMs: number,
  events: readonly ConnectionEvent[],
  step: (e: ConnectionEvent, i: number) => void,
) {
  for (let i = 0; i < events.length; i++) step(events[i]!, i); // warm-up
  let count = 0;
  const started = process.hrtime.bigint();
  const budgetNs = BigInt(budgetMs) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budgetNs) {
    for (let i = 0; i < events.length; i++) step(events[i]!, count + i);
    count += events.length;
    elapsed = process.hrtime.bigint() - started;
  }
  return Math.round(count / (Number(elapsed) / 1e9));
}

export default async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ms: { type: 'string', default: '2000' } } });
  const budgetMs = Number(values.ms);
  const events = sampleEvents(50_000);
  const policy = createMinimisePolicy({ key: Buffer.alloc(32, 1) });
  const counters = newMinimiseCounters();
  const minimised = events.map((e) => minimise(e, policy, counters));

  const minimisePerS = measure(budgetMs, events, (e) => {
    minimise(e, policy, counters);
  });
  process.stderr.write(`${'minimise'.padEnd(24)} ${String(minimisePerS).padStart(10)} events/s\n`);

  // 1 s of appliance time per 100,000 events: windows of 60 s close every 6,000,000 events.
  const summariser = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 50_000 });
  let records = 0;
  const summarisePerS = measure(budgetMs, minimised, (e, i) => {
    const now = i / 100;
    if (summariser.add(e, now)) records += summariser.flushDue(now).length;
  });
  records += summariser.flushAll().length;
  process.stderr.write(`${'summarise'.padEnd(24)} ${String(summarisePerS).padStart(10)} events/s\n`);

  const both = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 50_000 });
  const bothPerS = measure(budgetMs, events, (e, i) => {
    const now = i / 100;
    if (both.add(minimise(e, policy, counters), now)) both.flushDue(now);
  });
  const ratio = both.counters.eventsIn / Math.max(1, both.counters.recordsOut + both.flushAll().length);
  process.stderr.write(`${'minimise + summarise'.padEnd(24)} ${String(bothPerS).padStart(10)} events/s\n`);

  process.stdout.write(
    `${JSON.stringify({
      bench: 'minimise',
      minimisePerS,
      summarisePerS,
      minimiseAndSummarisePerS: bothPerS,
      eventsPerSummaryRecord: Number(ratio.toFixed(1)),
      summaryRecords: records,
      pseudonymCacheResets: policy.pseudonyms.cacheResets,
      earlyCloses: summariser.counters.earlyCloses + both.counters.earlyCloses,
    })}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
