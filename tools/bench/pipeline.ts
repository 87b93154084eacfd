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
import { parseMessage } from '../../appliance/parse/registry.js';
import { replay } from '../../appliance/replay/replay.js';
import {
  type AgentProc,
  issueDevice,
  startAgentProcess,
  startCentralProcess,
  waitFor,
} from '../demo/harness.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '2000000' },
    'latency-s': { type: 'string', default: '10' },
    /** The agent's pipelineWorkers; default: the agent's own default (-1: one per core). */
    workers: { type: 'string', default: '-1' },
  },
});
const workerFlags = ['--pipeline-workers', values.workers!];
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
await issueDevice(central.dataDir, 'bench-latency', join(dir, 'agent2', 'identity'));
const url = `mqtts://localhost:${central.brokerPort}`;

/** Sends with `send` to a fresh agent as fast as it takes them, then checks every accepted event reached
 * central exactly once (SIGTERM flushes the open summary window). */
async function measureThroughput(
  label: string,
  name: string,
  send: (tcpPort: number) => Promise<number>,
): Promise<Record<string, unknown>> {
  const agentDir = join(dir, name);
  await issueDevice(central.dataDir, `bench-${name}`, join(agentDir, 'identity'));
  const agent = await startAgentProcess(agentDir, join(agentDir, 'identity'), url, [
    ...workerFlags,
    '--max-messages-per-source-per-s',
    '0',
    '--uplink-max-bytes-per-s',
    '0',
    '--summary-window-s',
    '60',
  ]);
  const before = (await central.stats()).stored;
  const started = process.hrtime.bigint();
  const sent = await send(agent.tcpPort);
  const received = await waitFor(
    'the agent to receive every line',
    async () => {
      const s = await status(agent);
      return s.pipeline.received >= sent ? s : undefined;
    },
    300_000,
    20,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  log(`${label}: ${sent} lines received in ${seconds.toFixed(2)} s`);
  const beforeStop = await status(agent);
  const rss = peakRssMb(agent.child.pid);
  await agent.kill('SIGTERM');
  const restarted = await startAgentProcess(agentDir, join(agentDir, 'identity'), url, [
    '--uplink-max-bytes-per-s',
    '0',
  ]);
  const drained = await waitFor(
    'central to store every accepted event',
    async () => {
      const [s, c] = await Promise.all([status(restarted), central.stats()]);
      return s.outbox.depthEvents === 0 && c.stored - before >= s.outbox.acceptedEvents
        ? { s, c }
        : undefined;
    },
    300_000,
    250,
  );
  await restarted.kill();
  const result = {
    label,
    lines: sent,
    messagesPerS: Math.round(sent / seconds),
    received: received.pipeline.received,
    parsed: beforeStop.pipeline.parsed,
    unparsed: beforeStop.pipeline.unparsed,
    accepted: drained.s.outbox.acceptedEvents,
    stored: drained.c.stored - before,
    lost: drained.s.outbox.lostEvents,
    zeroLoss:
      received.pipeline.received === sent &&
      drained.s.outbox.acceptedEvents === beforeStop.pipeline.parsed &&
      drained.c.stored - before === drained.s.outbox.acceptedEvents,
    peakRssMb: rss,
  };
  log(JSON.stringify(result));
  return result;
}

try {
  // ---- 1 + 2: throughput and peak RSS (production summary window) ----
  // Two shapes of the same traffic: every vendor's lines from one sender (the worst case: the
  // per-source format tracker never settles, so every line pays detection), and one sender per
  // firewall (what a member's network looks like: each firewall is its own source).
  const lines = generateTraffic(50_000, { seed: 31 });
  const byFamily = new Map<string, string[]>();
  for (const line of lines) {
    const r = parseMessage(line, new Date());
    const key = r.ok ? r.family : 'unparsed';
    const stream = byFamily.get(key) ?? [];
    stream.push(line);
    byFamily.set(key, stream);
  }
  const streams = [...byFamily.values()];
  const mixed = await measureThroughput('mixed vendors, one source', 'agent', (port) =>
    replay(lines, { to: `tcp://127.0.0.1:${port}`, rate: 0, count: total }).then((r) => r.sent),
  );
  const perSource = await measureThroughput('one source per firewall', 'agent-sources', async (port) => {
    const sent = await Promise.all(
      streams.map((stream, i) =>
        replay(stream, {
          to: `tcp://127.0.0.1:${port}`,
          rate: 0,
          count: Math.round((total * stream.length) / lines.length),
          localAddress: `127.0.0.${i + 2}`,
        }),
      ),
    );
    return sent.reduce((sum, r) => sum + r.sent, 0);
  });

  // ---- 3: latency at 1,000 messages/s, summaries off ----
  const agent2 = await startAgentProcess(join(dir, 'agent2'), join(dir, 'agent2', 'identity'), url, [
    ...workerFlags,
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
  process.stdout.write(
    `${JSON.stringify({ bench: 'pipeline', pipelineWorkers: Number(values.workers), throughput: { mixed, perSource }, latency })}\n`,
  );
} finally {
  await central.kill();
  rmSync(dir, { recursive: true, force: true });
}
