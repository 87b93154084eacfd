/**
 * `npm run bench -- outage [--lines N] [--rate R] [--summary-window-s S] [--workers W] [--detect false]`: the agent's memory while central is down and
 * while it drains the backlog afterwards (issue 19 #14: 257 MiB was seen in an outage; the budget
 * is 150 MB whatever the backlog).
 *
 * 1. Central starts once (to issue the device's identity on a fixed broker port) and stops.
 * 2. The agent starts pointing at the dead broker; N lines go in as fast as it takes them over one
 *    TCP connection, so the whole run becomes outbox backlog. Summaries off by default
 *    (`--summary-window-s 0`): every event is its own record, the biggest backlog N lines can make
 *    (the reliability test that saw 257 MiB checked events one by one, so ran without summaries).
 * 3. Central starts again on the same port; the agent drains everything into it.
 * Memory is sampled from /proc/<pid>/status every 100 ms: VmRSS split into RssAnon (the heap and
 * native allocations: what the budget is about) and RssFile (LMDB's memory map: file pages the
 * kernel drops under pressure), plus VmHWM, the kernel's own peak. Loss is checked: every accepted
 * event stored at central. Progress on stderr; one JSON line on stdout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { replay } from '../../appliance/replay/replay.js';
import {
  type AgentProc,
  freePort,
  issueDevice,
  startAgentProcess,
  startCentralProcess,
  waitFor,
} from '../demo/harness.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '2000000' },
    workers: { type: 'string', default: '-1' },
    /** Detection on (the default) or off, to see what it costs. */
    detect: { type: 'string', default: 'true' },
    /** Lines per second during the outage; 0: as fast as the agent takes them. */
    rate: { type: 'string', default: '0' },
    /** 0 (default): every event its own outbox record, the largest backlog a line count can make. */
    'summary-window-s': { type: 'string', default: '0' },
  },
});
const total = Number(values.lines);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Memory {
  rssMb: number;
  anonMb: number;
  fileMb: number;
  hwmMb: number;
}
function memory(pid: number): Memory | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
    return { rssMb: kb('VmRSS'), anonMb: kb('RssAnon'), fileMb: kb('RssFile'), hwmMb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples the agent's memory until stopped; keeps the peak of each figure. */
function sampler(pid: number): { stop(): Memory } {
  const peak: Memory = { rssMb: 0, anonMb: 0, fileMb: 0, hwmMb: 0 };
  const timer = setInterval(() => {
    const m = memory(pid);
    if (m === undefined) return;
    for (const k of Object.keys(peak) as (keyof Memory)[]) peak[k] = Math.max(peak[k], m[k]);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      const m = memory(pid);
      if (m) peak.hwmMb = Math.max(peak.hwmMb, m.hwmMb);
      return Object.fromEntries(
        Object.entries(peak).map(([k, v]) => [k, Math.round(v)]),
      ) as unknown as Memory;
    },
  };
}

interface Status {
  pipeline: { received: number; parsed: number };
  outbox: { acceptedEvents: number; depthEvents: number; lostEvents: number; depthBytes?: number };
}
const status = async (agent: AgentProc): Promise<Status> =>
  (await (await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)).json()) as Status;

const dir = mkdtempSync(join(tmpdir(), 'ca-bench-outage-'));
const brokerPort = await freePort();
const centralDir = join(dir, 'central');
const centralArgs = ['--broker-port', String(brokerPort)];
let central = await startCentralProcess(centralDir, centralArgs);
await issueDevice(centralDir, 'bench-outage', join(dir, 'agent', 'identity'));
await central.kill();
log('central is down');

const agent = await startAgentProcess(
  join(dir, 'agent'),
  join(dir, 'agent', 'identity'),
  `mqtts://localhost:${brokerPort}`,
  [
    '--pipeline-workers',
    values.workers!,
    '--max-messages-per-source-per-s',
    '0',
    '--uplink-max-bytes-per-s',
    '0',
    '--summary-window-s',
    values['summary-window-s']!,
    '--detect-enabled',
    values.detect!,
  ],
);
try {
  const pid = agent.child.pid!;
  const lines = generateTraffic(50_000, { seed: 7 });
  const outage = sampler(pid);
  const started = process.hrtime.bigint();
  const sent = await replay(lines, {
    to: `tcp://127.0.0.1:${agent.tcpPort}`,
    rate: Number(values.rate),
    count: total,
  });
  await waitFor(
    'the agent to receive every line',
    async () => ((await status(agent)).pipeline.received >= sent.sent ? true : undefined),
    600_000,
    50,
  );
  // One summary window more, so the last windows reach the outbox while central is still down.
  await new Promise((r) => setTimeout(r, Number(values['summary-window-s']) * 1000 + 1000));
  const backlog = await status(agent);
  const duringOutage = outage.stop();
  const outageS = Number(process.hrtime.bigint() - started) / 1e9;
  log(
    `outage: ${sent.sent} lines, backlog ${backlog.outbox.depthEvents} events, peak ${JSON.stringify(duringOutage)}`,
  );

  const drain = sampler(pid);
  const drainStarted = process.hrtime.bigint();
  central = await startCentralProcess(centralDir, centralArgs);
  const drained = await waitFor(
    'central to store every accepted event',
    async () => {
      const [s, c] = await Promise.all([status(agent), central.stats()]);
      return s.outbox.depthEvents === 0 && c.stored >= s.outbox.acceptedEvents ? { s, c } : undefined;
    },
    900_000,
    250,
  );
  const duringDrain = drain.stop();
  const drainS = Number(process.hrtime.bigint() - drainStarted) / 1e9;
  log(`drain: ${drained.c.stored} stored in ${drainS.toFixed(1)} s, peak ${JSON.stringify(duringDrain)}`);
  const result = {
    bench: 'outage',
    lines: sent.sent,
    outageS: Math.round(outageS),
    backlogEvents: backlog.outbox.depthEvents,
    accepted: drained.s.outbox.acceptedEvents,
    stored: drained.c.stored,
    lost: drained.s.outbox.lostEvents,
    zeroLoss: drained.c.stored === drained.s.outbox.acceptedEvents && drained.s.outbox.lostEvents === 0,
    drainS: Math.round(drainS),
    outagePeak: duringOutage,
    drainPeak: duringDrain,
    summaryWindowS: Number(values['summary-window-s']),
    rate: Number(values.rate),
    detect: values.detect === 'true',
    budgetMb: 150,
  };
  console.log(JSON.stringify(result));
} finally {
  await agent.kill();
  await central.kill();
  rmSync(dir, { recursive: true, force: true });
}
