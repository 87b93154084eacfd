/**
 * `npm start`: the all-in-one demo on embedded defaults. Starts central (embedded Aedes broker +
 * PGlite), issues a device identity from central's development CA, starts one agent, and feeds it
 * realistic firewall lines with the replayer, all as separate processes on loopback ports.
 *
 *   npm start                          run until Ctrl-C, printing progress and where to look
 *   npm start -- --events N --exit     replay N lines, wait until central has stored them, print a
 *                                      JSON summary as the last line and exit (non-zero if unhealthy)
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { replay } from '../../appliance/replay/replay.js';
import {
  type AgentProc,
  type CentralProc,
  issueDevice,
  ROOT,
  startAgentProcess,
  startCentralProcess,
  waitFor,
} from './harness.js';
import { generateTraffic } from './traffic.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    exit: { type: 'boolean', default: false },
    rate: { type: 'string' },
    transport: { type: 'string', default: 'tcp' },
    'data-dir': { type: 'string', default: join(ROOT, '.demo') },
    timeout: { type: 'string', default: '300' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`npm start [-- options]
  --events N       lines to replay (default: 10000 with --exit, endless otherwise)
  --exit           stop once central has stored everything; last line is a JSON summary
  --rate N         lines per second (default: 5000 with --exit, 200 otherwise)
  --transport T    tcp (default) or udp
  --data-dir DIR   where central and the agent keep their data (default: .demo, wiped at start)
  --timeout S      seconds to wait for central to store everything with --exit (default 300)
`);
  process.exit(0);
}

const say = (text: string) => process.stderr.write(`[demo] ${text}\n`);
const exitMode = values.exit === true;
const events = Number(values.events ?? (exitMode ? 10_000 : 0));
const rate = Number(values.rate ?? (exitMode ? 5000 : 200));
const transport = values.transport === 'udp' ? 'udp' : 'tcp';
const dataDir = values['data-dir']!;
const deviceId = 'demo-device-1';

async function main(): Promise<number> {
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const started = Date.now();
  say(
    'starting central (embedded MQTT broker with mutual TLS + PGlite; first start creates a CA and the database)…',
  );
  const central = await startCentralProcess(join(dataDir, 'central'));
  say(
    `central: broker mqtts://localhost:${central.brokerPort}, portal https://localhost:${central.portalPort}`,
  );
  say(`issuing device certificate for ${deviceId} from the development CA…`);
  const identityDir = join(dataDir, 'agent', 'identity');
  await issueDevice(central.dataDir, deviceId, identityDir);
  say('starting the agent…');
  const agent = await startAgentProcess(
    join(dataDir, 'agent'),
    identityDir,
    `mqtts://localhost:${central.brokerPort}`,
  );
  say(
    `agent: syslog udp/${agent.udpPort} tcp/${agent.tcpPort}; status page http://127.0.0.1:${agent.statusPort}/`,
  );
  const stopAll = async () => {
    await agent.kill('SIGTERM');
    await central.kill('SIGTERM');
  };
  try {
    return exitMode ? await runToCompletion(central, agent, started) : await runForever(central, agent);
  } finally {
    await stopAll();
  }
}

async function runToCompletion(central: CentralProc, agent: AgentProc, started: number): Promise<number> {
  const lines = generateTraffic(events);
  const target = `${transport}://127.0.0.1:${transport === 'udp' ? agent.udpPort : agent.tcpPort}`;
  say(`replaying ${events} lines to ${target} at ${rate}/s…`);
  const sent = await replay(lines, { to: target, rate });
  say(`sent ${sent.sent} lines in ${sent.seconds.toFixed(1)} s; waiting for central to store them…`);
  const timeoutMs = Number(values.timeout) * 1000;
  // Everything received is parsed or unparsed; everything parsed is accepted, acked and stored.
  await waitFor(
    'the agent to receive every line',
    async () => {
      const s = await agent.status();
      // UDP may lose datagrams in the kernel; the agent reports the kernel's own count of them.
      return s.pipeline.received + (s.ingest.udp.kernelDrops ?? 0) >= sent.sent ? true : undefined;
    },
    timeoutMs,
  ).catch(() => undefined);
  const final = await waitFor(
    'central to store every parsed event',
    async () => {
      const [a, c] = await Promise.all([agent.status(), central.stats()]);
      const settled =
        a.outbox.pendingEvents === 0 && a.outbox.depthEvents === 0 && c.stored >= a.pipeline.parsed;
      return settled ? { a, c } : undefined;
    },
    timeoutMs,
  ).catch(async () => ({ a: await agent.status(), c: await central.stats() }));
  const summary = {
    sent: sent.sent,
    received: final.a.pipeline.received,
    parsed: final.a.pipeline.parsed,
    unparsed: final.a.pipeline.unparsed,
    rateLimited: final.a.pipeline.rateLimited,
    udpKernelDrops: final.a.ingest.udp.kernelDrops ?? 0,
    accepted: final.a.outbox.acceptedEvents,
    stored: final.c.stored,
    batches: final.c.batches,
    duplicates: final.c.duplicates,
    quarantined: final.c.quarantined,
    seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
  };
  const healthy = summary.parsed + summary.unparsed === summary.sent && summary.stored === summary.parsed;
  say(healthy ? 'healthy: every line is accounted for' : 'NOT healthy: some lines are unaccounted for');
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return healthy ? 0 : 1;
}

async function runForever(central: CentralProc, agent: AgentProc): Promise<number> {
  const token = readFileSync(join(central.dataDir, 'portal-admin.token'), 'utf8').trim();
  say('');
  say('Where to look:');
  say(
    `  member's status page   http://127.0.0.1:${agent.statusPort}/   (JSON: /api/status, Prometheus: /metrics)`,
  );
  say(
    `  central API            curl --cacert ${join(central.dataDir, 'ca', 'ca.crt')} -H 'Authorization: Bearer ${token}' https://localhost:${central.portalPort}/api/stats`,
  );
  say(
    `  device report          node dist/central/cli.js report --device ${deviceId} --data-dir ${central.dataDir}`,
  );
  say('Replaying realistic firewall traffic at ' + rate + ' lines/s; Ctrl-C to stop.');
  writeFileSync(join(dataDir, 'README.txt'), 'Demo data: wiped at the next `npm start`.\n');
  let stop = false;
  process.once('SIGINT', () => {
    stop = true;
  });
  process.once('SIGTERM', () => {
    stop = true;
  });
  const target = `${transport}://127.0.0.1:${transport === 'udp' ? agent.udpPort : agent.tcpPort}`;
  let seed = 1;
  let total = 0;
  const reporter = setInterval(async () => {
    try {
      const [a, c] = await Promise.all([agent.status(), central.stats()]);
      say(
        `sent ${total} · parsed ${a.pipeline.parsed} · unparsed ${a.pipeline.unparsed} · in outbox ${a.outbox.depthEvents} · stored at central ${c.stored}`,
      );
    } catch {
      /* a process is shutting down */
    }
  }, 5000);
  while (!stop && (events === 0 || total < events)) {
    const chunk = generateTraffic(rate, { seed: seed++ });
    total += (await replay(chunk, { to: target, rate })).sent;
  }
  clearInterval(reporter);
  say('stopping…');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    say(err.stack ?? err.message);
    process.exit(1);
  },
);
