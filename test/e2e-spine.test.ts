/**
 * The spine end to end, as separate processes on loopback ports: syslog over UDP and TCP into the
 * agent, LMDB outbox, CBOR over MQTT with mutual TLS into central's embedded broker, PGlite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { replay } from '../appliance/replay/replay.js';
import { issueDevice, startAgentProcess, startCentralProcess, waitFor } from '../tools/demo/harness.js';
import { generateTraffic } from '../tools/demo/traffic.js';

const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('10,000 lines over UDP and 10,000 over TCP reach central, every line accounted for', async (t) => {
  const central = await startCentralProcess(join(dir, 'central'));
  t.teardown(() => central.kill());
  await issueDevice(central.dataDir, 'e2e-device-1', join(dir, 'agent1', 'identity'));
  const agent = await startAgentProcess(
    join(dir, 'agent1'),
    join(dir, 'agent1', 'identity'),
    `mqtts://localhost:${central.brokerPort}`,
  );
  t.teardown(() => agent.kill());

  const udpLines = generateTraffic(10_000, { seed: 7 });
  const tcpLines = generateTraffic(10_000, { seed: 8 });
  // UDP can lose datagrams in the kernel when the box is busy: the agent reads the kernel's own drop
  // count for its socket, so every datagram is received or counted as dropped, never unexplained.
  const [udp, tcp] = await Promise.all([
    replay(udpLines, { to: `udp://127.0.0.1:${agent.udpPort}`, rate: 5000 }),
    replay(tcpLines, { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 5000 }),
  ]);
  t.equal(udp.sent + tcp.sent, 20_000);
  const status = await waitFor(
    'the agent to receive all 20,000 lines',
    async () => {
      const s = await agent.status();
      return s.pipeline.received + (s.ingest.udp.kernelDrops ?? 0) === 20_000 ? s : undefined;
    },
    60_000,
  );
  const udpDrops = status.ingest.udp.kernelDrops ?? 0;
  t.equal(
    status.ingest.udp.messages + udpDrops,
    10_000,
    `UDP: every datagram received or counted as dropped by the kernel (${udpDrops})`,
  );
  t.ok(udpDrops < 1000, 'kernel drops stay rare at this rate');
  t.equal(status.ingest.tcp.messages, 10_000, 'TCP: every line received');
  t.equal(
    status.pipeline.parsed + status.pipeline.unparsed + status.pipeline.rateLimited,
    status.pipeline.received,
    'every line received is parsed or counted as unparsed',
  );
  t.equal(status.pipeline.rateLimited, 0, 'nothing rate-limited at this rate');
  t.ok(status.pipeline.unparsed > 0, 'the noise lines are counted as unparsed');
  t.ok(status.pipeline.parsed > 18_000, 'the firewall lines are parsed');
  const stats = await waitFor(
    'central to store every parsed event',
    async () => {
      const [a, c] = await Promise.all([agent.status(), central.stats()]);
      return a.outbox.depthEvents === 0 && a.outbox.pendingEvents === 0 && c.stored >= status.pipeline.parsed
        ? c
        : undefined;
    },
    120_000,
  );
  t.equal(stats.stored, status.pipeline.parsed, 'central stored exactly the parsed events');
  t.equal(stats.quarantined, 0, 'nothing quarantined');
});

t.test(
  'agent killed with SIGKILL mid-stream and restarted: nothing accepted is lost or stored twice',
  async (t) => {
    const central = await startCentralProcess(join(dir, 'central2'));
    t.teardown(() => central.kill());
    const agentDir = join(dir, 'agent2');
    await issueDevice(central.dataDir, 'e2e-device-2', join(agentDir, 'identity'));
    const url = `mqtts://localhost:${central.brokerPort}`;
    const first = await startAgentProcess(agentDir, join(agentDir, 'identity'), url);
    const lines = generateTraffic(30_000, { seed: 9, noiseShare: 0 });
    const sending = replay(lines, { to: `tcp://127.0.0.1:${first.tcpPort}`, rate: 6000 }).catch(
      (err: Error) => err,
    );
    await waitFor(
      'some events to be accepted',
      async () => ((await first.status()).outbox.acceptedEvents > 5000 ? true : undefined),
      30_000,
    );
    const before = await first.status();
    await first.kill('SIGKILL');
    const sendResult = await sending;
    t.ok(
      sendResult instanceof Error || sendResult.sent <= 30_000,
      'the sender saw the agent die (or finished)',
    );

    const second = await startAgentProcess(agentDir, join(agentDir, 'identity'), url);
    t.teardown(() => second.kill());
    const after = await second.status();
    t.ok(after.outbox.acceptedEvents >= before.outbox.acceptedEvents, 'accepted count survived the kill');
    const stats = await waitFor(
      'the backlog to drain',
      async () => {
        const [a, c] = await Promise.all([second.status(), central.stats()]);
        return a.outbox.depthEvents === 0 && c.stored >= a.outbox.acceptedEvents ? { a, c } : undefined;
      },
      120_000,
    );
    t.equal(stats.c.stored, stats.a.outbox.acceptedEvents, 'central holds every accepted event exactly once');
    t.ok(stats.c.stored >= before.outbox.acceptedEvents, 'including everything accepted before the kill');
    t.equal(stats.c.quarantined, 0);
  },
);

t.test('garbage on the syslog ports is counted and the agent keeps running', async (t) => {
  const central = await startCentralProcess(join(dir, 'central3'));
  t.teardown(() => central.kill());
  const agentDir = join(dir, 'agent3');
  await issueDevice(central.dataDir, 'e2e-device-3', join(agentDir, 'identity'));
  const agent = await startAgentProcess(
    agentDir,
    join(agentDir, 'identity'),
    `mqtts://localhost:${central.brokerPort}`,
    ['--max-message-bytes', '1024'],
  );
  t.teardown(() => agent.kill());
  const garbage: string[] = [];
  for (let i = 0; i < 200; i++) {
    garbage.push(
      Buffer.from(Array.from({ length: 1 + ((i * 37) % 900) }, (_, j) => (i * 31 + j * 7) % 256)).toString(
        'latin1',
      ),
    );
  }
  garbage.push('<999999999999>' + 'A'.repeat(5000)); // oversized: truncated and counted
  garbage.push('99999999999 not an octet count');
  await replay(garbage, { to: `udp://127.0.0.1:${agent.udpPort}`, rate: 0 });
  await replay(garbage, { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 0, framing: 'octet' }).catch(
    () => undefined,
  );
  await replay(['12x bad frame\n', 'more'], {
    to: `tcp://127.0.0.1:${agent.tcpPort}`,
    rate: 0,
    framing: 'newline',
  });
  const status = await waitFor(
    'garbage to be counted',
    async () => {
      const s = await agent.status();
      return s.ingest.udp.messages >= garbage.length && s.pipeline.queued === 0 ? s : undefined;
    },
    20_000,
  );
  t.equal(
    status.pipeline.parsed + status.pipeline.unparsed,
    status.pipeline.received,
    'every message parsed or counted',
  );
  t.ok(status.pipeline.unparsed >= garbage.length, 'garbage counted as unparsed');
  const full = (await (await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)).json()) as {
    ingest: { udp: { truncated: number } };
  };
  t.ok(full.ingest.udp.truncated >= 1, 'the oversized datagram was truncated and counted');
  t.equal(agent.child.exitCode, null, 'the agent is still running');
  const page = await (await fetch(`http://127.0.0.1:${agent.statusPort}/`)).text();
  t.notMatch(page, /<script>alert/, 'log text is escaped on the status page');
});

t.test('a hostile CBOR batch is quarantined and central keeps running', async (t) => {
  const { default: mqtt } = await import('mqtt');
  const central = await startCentralProcess(join(dir, 'central4'));
  t.teardown(() => central.kill());
  const idDir = join(dir, 'hostile', 'identity');
  await issueDevice(central.dataDir, 'hostile-1', idDir);
  const read = (name: string) => readFileSync(join(idDir, name), 'utf8');
  const client = await mqtt.connectAsync(`mqtts://localhost:${central.brokerPort}`, {
    protocolVersion: 4,
    clientId: 'hostile-1',
    cert: read('device.crt'),
    key: read('device.key'),
    ca: read('ca.crt'),
    reconnectPeriod: 0,
  });
  const hostile = [
    Buffer.from([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // array claiming 2^64 items
    Buffer.alloc(10_000, 0x81), // 10,000-deep nesting
    Buffer.from('not cbor at all'),
    Buffer.from([0xd8, 0x1c, 0xa0]), // tag 28 (structured clone)
  ];
  for (const payload of hostile)
    await client.publishAsync('ca/v1/dev/hostile-1/up/events', payload, { qos: 1 });
  await client.endAsync();
  const stats = await waitFor(
    'quarantine',
    async () => {
      const s = await central.stats();
      return s.quarantined >= hostile.length ? s : undefined;
    },
    20_000,
  );
  t.equal(stats.quarantined, hostile.length, 'each hostile batch quarantined');
  t.equal(stats.stored, 0, 'nothing stored from them');
  t.equal(central.child.exitCode, null, 'central is still running');
});
