/**
 * `npm run bench -- detect-pipeline [--lines N] [--pairs P] [--scans S]`: what detection costs the
 * whole agent, and how fast an alert reaches central.
 *
 * 1. Throughput and memory, detection off vs on: the same N lines (the demo's mixed traffic, which
 *    carries scans and brute force, so detectors have work), as fast as one TCP connection takes
 *    them, into a fresh agent uplinking to a real central (embedded broker + PGlite), production
 *    summary window. P off/on pairs, alternated, so the machine's drift hits both arms alike;
 *    messages/s from the first byte until every line is through the pipeline; peak RSS (VmHWM).
 * 2. Alert latency: an agent with detection on receives background traffic at 1,000 lines/s and,
 *    every 2 s, a port scan from a new source (40 ports in one burst). A scan's clock starts when
 *    the line that crosses the vertical-scan threshold (its 15th port) has been written to the
 *    socket, and stops when central's stored-alert counter counts it (polled every 20 ms: the
 *    resolution). p50/p99/max over S scans.
 * Progress on stderr; one JSON line on stdout.
 */

import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { replay } from '../../appliance/replay/replay.js';
import {
  type AgentProc,
  type CentralProc,
  issueDevice,
  startAgentProcess,
  startCentralProcess,
  waitFor,
} from '../demo/harness.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    pairs: { type: 'string', default: '2' },
    scans: { type: 'string', default: '30' },
  },
});
const total = Number(values.lines);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Status {
  pipeline: { received: number; parsed: number; unparsed: number; queued: number };
  detection?: { enabled: boolean; recent: unknown[] };
}
const status = async (agent: AgentProc): Promise<Status> =>
  (await (await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)).json()) as Status;

function peakRssMb(pid: number | undefined): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : Number.NaN;
}

const storedAlerts = async (central: CentralProc): Promise<number> => {
  const stats = (await central.stats()) as unknown as { process: { alertsStoredBy: Record<string, number> } };
  return Object.values(stats.process.alertsStoredBy).reduce((a, b) => a + b, 0);
};

const dir = mkdtempSync(join(tmpdir(), 'ca-bench-detect-pipeline-'));
const central = await startCentralProcess(join(dir, 'central'));
const url = `mqtts://localhost:${central.brokerPort}`;
let agents = 0;

async function freshAgent(detect: boolean): Promise<AgentProc> {
  const agentDir = join(dir, `agent-${agents++}`);
  await issueDevice(central.dataDir, `bench-detect-${agents}`, join(agentDir, 'identity'));
  return startAgentProcess(agentDir, join(agentDir, 'identity'), url, [
    '--detect-enabled',
    String(detect),
    '--max-messages-per-source-per-s',
    '0',
    '--uplink-max-bytes-per-s',
    '0',
    '--summary-window-s',
    '60',
  ]);
}

async function throughput(detect: boolean, lines: readonly string[]) {
  const agent = await freshAgent(detect);
  try {
    const started = process.hrtime.bigint();
    const { sent } = await replay(lines, { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 0, count: total });
    await waitFor(
      'every line through the pipeline',
      async () => {
        const s = await status(agent);
        return s.pipeline.parsed + s.pipeline.unparsed >= sent && s.pipeline.queued === 0 ? s : undefined;
      },
      600_000,
      20,
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const result = {
      detect,
      messagesPerS: Math.round(sent / seconds),
      peakRssMb: peakRssMb(agent.child.pid),
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    await agent.kill();
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
/** iptables LOG format (netfilter's nf_log_syslog). */
const logLine = (action: string, src: string, dst: string, spt: number, dpt: number) =>
  `<4>${stamp(new Date())} gw kernel: [1234.567890] ${action}: IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 SRC=${src} DST=${dst} LEN=44 TOS=0x00 PREC=0x00 TTL=45 ID=1 PROTO=TCP SPT=${spt} DPT=${dpt} WINDOW=1024 RES=0x00 SYN URGP=0`;

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

/** The vertical-scan threshold: the 15th distinct port in its window raises the alert. */
const TRIGGER_PORT_INDEX = 14;

async function alertLatency(scans: number) {
  const agent = await freshAgent(true);
  const socket = createSocket('udp4');
  const send = (line: string) =>
    new Promise<void>((resolve, reject) =>
      socket.send(line, agent.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  try {
    // Background: allowed outbound browsing from 50 hosts, 1,000 lines/s, for the whole run.
    let running = true;
    let n = 0;
    const background = (async () => {
      while (running) {
        const due = Date.now() + 100;
        for (let i = 0; i < 100; i++, n++)
          await send(
            logLine('ACCEPT-OUT', `192.168.7.${n % 50}`, `198.51.100.${n % 200}`, 40000 + (n % 20000), 443),
          );
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      }
    })();
    const latencies: number[] = [];
    let stored = await storedAlerts(central);
    for (let s = 0; s < scans; s++) {
      const scanner = `203.0.113.${10 + s}`;
      let triggeredAt = 0;
      for (let p = 0; p < 40; p++) {
        await send(logLine('DROP', scanner, '192.168.7.200', 41000, 1000 + p));
        if (p === TRIGGER_PORT_INDEX) triggeredAt = performance.now();
      }
      const before = stored;
      stored = await waitFor(
        `central to store the alert on scanner ${s + 1}`,
        async () => {
          const now = await storedAlerts(central);
          return now > before ? now : undefined;
        },
        60_000,
        20,
      );
      latencies.push(performance.now() - triggeredAt);
      log(`scan ${s + 1}: ${Math.round(latencies.at(-1)!)} ms`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    running = false;
    await background;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      scans,
      p50Ms: Math.round(quantile(sorted, 0.5)),
      p99Ms: Math.round(quantile(sorted, 0.99)),
      maxMs: Math.round(sorted.at(-1) ?? Number.NaN),
      pollMs: 20,
    };
  } finally {
    socket.close();
    await agent.kill();
  }
}

try {
  const lines = generateTraffic(50_000, { seed: 41 });
  const off: { messagesPerS: number; peakRssMb: number }[] = [];
  const on: { messagesPerS: number; peakRssMb: number }[] = [];
  for (let i = 0; i < Number(values.pairs); i++) {
    off.push(await throughput(false, lines));
    on.push(await throughput(true, lines));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const offRate = median(off.map((r) => r.messagesPerS));
  const onRate = median(on.map((r) => r.messagesPerS));
  const latency = await alertLatency(Number(values.scans));
  console.log(
    JSON.stringify({
      bench: 'detect-pipeline',
      lines: total,
      offMessagesPerS: off.map((r) => r.messagesPerS),
      onMessagesPerS: on.map((r) => r.messagesPerS),
      onToOff: Math.round((onRate / offRate) * 1000) / 1000,
      peakRssMbOff: Math.max(...off.map((r) => r.peakRssMb)),
      peakRssMbOn: Math.max(...on.map((r) => r.peakRssMb)),
      alertLatency: latency,
    }),
  );
} finally {
  await central.kill();
  rmSync(dir, { recursive: true, force: true });
}
