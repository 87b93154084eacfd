/**
 * `npm run bench -- pipeline [--lines N] [--latency-s S]`: the whole agent (TCP ingest → parse →
 * minimise → summarise → outbox → uplink) as a separate process, driven by the replayer, uplinking
 * to a real central (embedded broker + PGlite).
 *
 * 1. Throughput: N lines as fast as the replayer sends them over one TCP connection; messages/s
 *    from the first byte sent until the agent has received every line, and zero loss checked as
 *    received = sent, parsed + unparsed = received, and central stored = accepted once drained.
 * 2. Peak RSS of the agent process: VmHWM from /proc/<pid>/status after the run.
 * 3. Latency from syslog receipt to central's database at 1,000 messages/s with summaries off
 *    (with them on, an event waits for its window by design: `summaryWindowS`): lines go out at a
 *    steady rate in order over one connection and the outbox is FIFO, so line i is stored once
 *    central's stored count reaches i + 1; central is polled every 50 ms (the resolution).
 * Progress on stderr; one JSON line on stdout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { replay } from '../appliance/replay/replay.js';
import {
  type AgentProc,
  issueDevice,
  startAgentProcess,
  startCentralProcess,
  waitFor,
} from '../demo/harness.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '2000000' }, 'latency-s': { type: 'string', default: '10' } },
});
const total = Number(values.lines);
const latencySeconds = Number(values['latency-s']);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Status {
  pipeline: { received: number; parsed: number; unparsed: number; summarise?: { heldEvents: number } };
  outbox: { acceptedEvents: number; depthEvents: number; pendingEvents: number; lostEvents: number };
}
const status = async (agent: AgentProc): Promise<Status> =>
  (await (await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)).json()) as Status;

function peakRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : null;
}

const dir = mkdtempSync(join(tmpdir(), 'ca-bench-pipeline-'));
const central = await startCentralProcess(join(dir, 'central'));
await issueDevice(central.dataDir, 'bench-pipeline', join(dir, 'agent', 'identity'));
await issueDevice(central.dataDir, 'bench-latency', join(dir, 'agent2', 'identity'));
const url = `mqtts://localhost:${central.brokerPort}`;
try {
  // ---- 1 + 2: throughput and peak RSS (production summary window) ----
  const agent = await startAgentProcess(join(dir, 'agent'), join(dir, 'agent', 'identity'), url, [
    '--max-messages-per-source-per-s',
    '0',
    '--uplink-max-bytes-per-s',
    '0',
    '--summary-window-s',
    '60',
  ]);
  const lines = generateTraffic(50_000, { seed: 31 });
  const started = process.hrtime.bigint();
  const sent = await replay(lines, { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 0, count: total });
  const received = await waitFor(
    'the agent to receive every line',
    async () => {
      const s = await status(agent);
      return s.pipeline.received >= sent.sent ? s : undefined;
    },
    300_000,
    20,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  log(`${sent.sent} lines received in ${seconds.toFixed(2)} s`);
  // Close the open summary window (SIGTERM flushes it), then check central has every accepted event.
  const beforeStop = await status(agent);
  const rss = peakRssMb(agent.child.pid);
  await agent.kill('SIGTERM');
  const restarted = await startAgentProcess(join(dir, 'agent'), join(dir, 'agent', 'identity'), url, [
    '--uplink-max-bytes-per-s',
    '0',
  ]);
  const drained = await waitFor(
    'central to store every accepted event',
    async () => {
      const [s, c] = await Promise.all([status(restarted), central.stats()]);
      return s.outbox.depthEvents === 0 && c.stored >= s.outbox.acceptedEvents ? { s, c } : undefined;
    },
    300_000,
    250,
  );
  await restarted.kill();
  const throughput = {
    lines: sent.sent,
    messagesPerS: Math.round(sent.sent / seconds),
    received: received.pipeline.received,
    parsed: beforeStop.pipeline.parsed,
    unparsed: beforeStop.pipeline.unparsed,
    accepted: drained.s.outbox.acceptedEvents,
    stored: drained.c.stored,
    lost: drained.s.outbox.lostEvents,
    zeroLoss:
      received.pipeline.received === sent.sent &&
      drained.s.outbox.acceptedEvents === beforeStop.pipeline.parsed &&
      drained.c.stored === drained.s.outbox.acceptedEvents,
    peakRssMb: rss,
  };
  log(JSON.stringify(throughput));

  // ---- 3: latency at 1,000 messages/s, summaries off ----
  const agent2 = await startAgentProcess(join(dir, 'agent2'), join(dir, 'agent2', 'identity'), url, [
    '--summary-window-s',
    '0',
  ]);
  const base = (await central.stats()).stored;
  const latencyLines = generateTraffic(latencySeconds * 1000, { seed: 32, noiseShare: 0 });
  const sendStart = Date.now();
  const polls: { at: number; stored: number }[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const c = await central.stats();
      polls.push({ at: Date.now(), stored: c.stored - base });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const latencySent = await replay(latencyLines, { to: `tcp://127.0.0.1:${agent2.tcpPort}`, rate: 1000 });
  const expected = (await waitFor(
    'every latency line to be parsed',
    async () => {
      const s = await status(agent2);
      return s.pipeline.received >= latencySent.sent ? s.pipeline.parsed : undefined;
    },
    60_000,
  )) as number;
  await waitFor(
    'central to store them',
    async () => (polls.at(-1)!.stored >= expected ? true : undefined),
    60_000,
    50,
  );
  polling = false;
  await poller;
  await agent2.kill();
  // Line i left at sendStart + i ms (1,000/s); it is stored at the first poll showing ≥ i + 1 events.
  // (All latency lines parse, so the i-th line is the i-th event.)
  const latencies: number[] = [];
  let p = 0;
  for (let i = 0; i < expected; i++) {
    while (p < polls.length && polls[p]!.stored < i + 1) p++;
    if (p === polls.length) break;
    latencies.push(polls[p]!.at - (sendStart + i));
  }
  latencies.sort((a, b) => a - b);
  const q = (f: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? null;
  const latency = {
    ratePerS: 1000,
    events: latencies.length,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: latencies.at(-1) ?? null,
    resolutionMs: 50,
    summaryWindowS: 0,
  };
  log(JSON.stringify(latency));
  process.stdout.write(`${JSON.stringify({ bench: 'pipeline', throughput, latency })}\n`);
} finally {
  await central.kill();
  rmSync(dir, { recursive: true, force: true });
}
