/**
 * `npm run bench -- ingest`: drives a running agent (separate process, loopback) with the replayer
 * over TCP and over UDP and prints messages/s received and parsed, and UDP loss. The agent uplinks
 * to a real central (embedded broker + PGlite) like in production.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { replay } from '../../appliance/replay/replay.js';
import { issueDevice, startAgentProcess, startCentralProcess, waitFor } from '../demo/harness.js';
import { generateTraffic } from '../demo/traffic.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '200000' } } });
const total = Number(values.lines);
const dir = mkdtempSync(join(tmpdir(), 'ca-bench-ingest-'));
const log = (s: string) => process.stderr.write(`${s}\n`);

const central = await startCentralProcess(join(dir, 'central'));
await issueDevice(central.dataDir, 'bench-ingest', join(dir, 'agent', 'identity'));
const agent = await startAgentProcess(
  join(dir, 'agent'),
  join(dir, 'agent', 'identity'),
  `mqtts://localhost:${central.brokerPort}`,
  // One replayer is one source: lift the per-source rate limit to measure the agent itself.
  ['--max-messages-per-source-per-s', '0'],
);
const lines = generateTraffic(20_000, { seed: 3 });

async function measure(transport: 'tcp' | 'udp') {
  const before = await agent.status();
  const started = process.hrtime.bigint();
  const port = transport === 'tcp' ? agent.tcpPort : agent.udpPort;
  const sent = await replay(lines, { to: `${transport}://127.0.0.1:${port}`, rate: 0, count: total });
  // Wait until the agent has taken everything it is going to get (UDP: until the count stops moving).
  let last = -1;
  const after = await waitFor(
    `${transport} ingest to settle`,
    async () => {
      const s = await agent.status();
      const received = s.pipeline.received - before.pipeline.received;
      if (received >= sent.sent || received === last) return s;
      last = received;
      return undefined;
    },
    120_000,
    500,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const received = after.pipeline.received - before.pipeline.received;
  const parsed = after.pipeline.parsed - before.pipeline.parsed;
  const result = {
    transport,
    sent: sent.sent,
    received,
    parsed,
    receivedPerS: Math.round(received / seconds),
    parsedPerS: Math.round(parsed / seconds),
    lossPct: Number((((sent.sent - received) / sent.sent) * 100).toFixed(3)),
  };
  log(JSON.stringify(result));
  return result;
}

try {
  const tcp = await measure('tcp');
  const udp = await measure('udp');
  process.stdout.write(`${JSON.stringify({ bench: 'ingest', lines: total, tcp, udp })}\n`);
} finally {
  await agent.kill();
  await central.kill();
  rmSync(dir, { recursive: true, force: true });
}
