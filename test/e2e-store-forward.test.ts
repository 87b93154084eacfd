/**
 * Store and forward end to end, as separate processes (agent, central with its embedded broker and
 * PGlite): central down for a long stretch of ingest, the agent killed with SIGKILL again and
 * again under load, and an outbox too small for the backlog. Every accepted event reaches central
 * exactly once, or is counted as lost in a loss record that central stores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { replay } from '../appliance/replay/replay.js';
import { lossTotals } from '../central/ingest/store-loss.js';
import { openDatabase } from '../central/store/db.js';
import {
  type AgentProc,
  type CentralProc,
  freePort,
  issueDevice,
  startAgentProcess,
  startCentralProcess,
  waitFor,
} from '../tools/demo/harness.js';
import { generateTraffic } from '../tools/demo/traffic.js';

const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-sf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** The parts of the agent's /api/status these tests read beyond the harness's view. */
interface OutboxView {
  state: string;
  acceptedEvents: number;
  acceptedBatches: number;
  ackedEvents: number;
  depthEvents: number;
  depthBatches: number;
  pendingEvents: number;
  lostEvents: number;
  evictedBatches: number;
  evictedEvents: number;
  lossRecordsPending: { reason: string; events: number; batches: number }[];
}
interface FullStatus {
  pipeline: { parsed: number; received: number; summarise?: { heldEvents: number } };
  outbox: OutboxView;
  uplink: { state: string; lossRecordsAcked: number };
}
const fullStatus = async (agent: AgentProc): Promise<FullStatus> =>
  (await (await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)).json()) as FullStatus;

/** Restarts central on the same data directory and ports (the agent keeps its URL). */
function restartCentral(central: CentralProc): Promise<CentralProc> {
  return startCentralProcess(central.dataDir, [
    '--broker-port',
    String(central.brokerPort),
    '--portal-port',
    String(central.portalPort),
  ]);
}

/** Nothing held in memory any more: every parsed event is in a committed batch (or counted lost). */
async function settled(agent: AgentProc, parsed: number): Promise<FullStatus> {
  return waitFor(
    'the agent to commit everything it parsed',
    async () => {
      const s = await fullStatus(agent);
      const held = s.pipeline.summarise?.heldEvents ?? 0;
      // Also wait for the commit itself: a batch being written is neither pending nor accepted yet.
      const committed = s.outbox.acceptedEvents + s.outbox.lostEvents >= s.pipeline.parsed;
      return s.pipeline.parsed >= parsed && held === 0 && s.outbox.pendingEvents === 0 && committed
        ? s
        : undefined;
    },
    30_000,
  );
}

t.test(
  'central down for 10 minutes of ingest (compressed in time): zero loss, zero duplicates',
  async (t) => {
    let central = await startCentralProcess(join(dir, 'central-a'));
    t.teardown(() => central.kill());
    const agentDir = join(dir, 'agent-a');
    await issueDevice(central.dataDir, 'sf-outage', join(agentDir, 'identity'));
    const agent = await startAgentProcess(
      agentDir,
      join(agentDir, 'identity'),
      `mqtts://localhost:${central.brokerPort}`,
    );
    t.teardown(() => agent.kill());

    const before = generateTraffic(2000, { seed: 21, noiseShare: 0 });
    await replay(before, { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 5000 });
    await waitFor(
      'the first events to reach central',
      async () => ((await central.stats()).stored >= 2000 ? true : undefined),
      30_000,
    );
    await central.kill();

    // 10 minutes at 100 lines/s, replayed at 10,000 lines/s while central is down.
    const outage = generateTraffic(60_000, { seed: 22, noiseShare: 0 });
    await replay(outage, { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 10_000 });
    const during = await settled(agent, 62_000);
    t.equal(during.uplink.state === 'connected', false, 'the agent noticed central was gone');
    t.ok(
      during.outbox.depthEvents >= 60_000,
      `the backlog waits in the outbox (${during.outbox.depthEvents})`,
    );
    t.equal(during.outbox.lostEvents, 0, 'nothing evicted');

    central = await restartCentral(central);
    const done = await waitFor(
      'the backlog to drain into central',
      async () => {
        const [a, c] = await Promise.all([fullStatus(agent), central.stats()]);
        return a.outbox.depthEvents === 0 && c.stored >= a.outbox.acceptedEvents ? { a, c } : undefined;
      },
      120_000,
    );
    t.equal(done.a.outbox.acceptedEvents, done.a.pipeline.parsed, 'every parsed event was accepted');
    t.equal(done.c.stored, done.a.outbox.acceptedEvents, 'central stored every accepted event exactly once');
    t.equal(
      done.c.batches,
      done.a.outbox.acceptedBatches,
      'one stored batch per sealed batch: no duplicates',
    );
    t.equal(done.c.quarantined, 0, 'nothing quarantined');
  },
);

t.test('SIGKILL 20 times under load: every accepted event stored exactly once', async (t) => {
  const central = await startCentralProcess(join(dir, 'central-b'));
  t.teardown(() => central.kill());
  const agentDir = join(dir, 'agent-b');
  await issueDevice(central.dataDir, 'sf-kill', join(agentDir, 'identity'));
  const url = `mqtts://localhost:${central.brokerPort}`;
  const ports = { tcp: await freePort(), udp: await freePort(), status: await freePort() };
  const lines = generateTraffic(20_000, { seed: 23, noiseShare: 0 });
  // Every event on its own, sealed every 100 ms: each kill lands among many committed batches
  // (with summaries on, a kill mostly loses the open window, which was never accepted).
  const noSummaries = ['--summary-window-s', '0', '--batch-max-delay-ms', '100'];
  let acceptedSeen = 0;
  for (let round = 0; round < 20; round++) {
    const agent = await startAgentProcess(agentDir, join(agentDir, 'identity'), url, noSummaries, ports);
    const sending = replay(lines, {
      to: `tcp://127.0.0.1:${agent.tcpPort}`,
      rate: 8000,
      count: 8000,
    }).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 400 + ((round * 137) % 900)));
    const s = await fullStatus(agent);
    t.ok(s.outbox.acceptedEvents >= acceptedSeen, `round ${round}: accepted count never goes back`);
    acceptedSeen = s.outbox.acceptedEvents;
    await agent.kill('SIGKILL');
    await sending;
  }
  t.ok(acceptedSeen > 20_000, `events were accepted across the kills (${acceptedSeen})`);
  const agent = await startAgentProcess(agentDir, join(agentDir, 'identity'), url, noSummaries, ports);
  t.teardown(() => agent.kill());
  const done = await waitFor(
    'the backlog to drain after the last restart',
    async () => {
      const [a, c] = await Promise.all([fullStatus(agent), central.stats()]);
      return a.outbox.depthEvents === 0 && c.stored >= a.outbox.acceptedEvents ? { a, c } : undefined;
    },
    120_000,
  );
  t.ok(done.a.outbox.acceptedEvents >= acceptedSeen, 'the accepted count survived every kill');
  t.equal(done.c.stored, done.a.outbox.acceptedEvents, 'central holds every accepted event exactly once');
  t.equal(done.c.batches, done.a.outbox.acceptedBatches, 'no (device, seq) stored twice, none missing');
  t.equal(done.a.outbox.lostEvents, 0, 'nothing evicted or lost');
  t.equal(done.c.quarantined, 0, 'nothing quarantined');
});

t.test('a tiny maxOutboxBytes evicts; the loss record reaches central and the status API', async (t) => {
  let central = await startCentralProcess(join(dir, 'central-c'));
  t.teardown(() => central.kill());
  const agentDir = join(dir, 'agent-c');
  await issueDevice(central.dataDir, 'sf-evict', join(agentDir, 'identity'));
  await central.kill();
  const agent = await startAgentProcess(
    agentDir,
    join(agentDir, 'identity'),
    `mqtts://localhost:${central.brokerPort}`,
    // Raw events (no summaries) in small batches, so 20,000 lines overflow a 64 KiB outbox.
    ['--summary-window-s', '0', '--batch-max-events', '200', '--max-outbox-bytes', '65536'],
  );
  t.teardown(() => agent.kill());
  await replay(generateTraffic(20_000, { seed: 24, noiseShare: 0 }), {
    to: `tcp://127.0.0.1:${agent.tcpPort}`,
    rate: 10_000,
  });
  const full = await settled(agent, 20_000);
  t.equal(full.outbox.state, 'full', 'the status API says the outbox is full');
  t.ok(full.outbox.evictedEvents > 0, `events were evicted (${full.outbox.evictedEvents})`);
  t.equal(full.outbox.lostEvents, full.outbox.evictedEvents);
  t.match(full.outbox.lossRecordsPending, [
    { reason: 'evicted: outbox full', events: full.outbox.evictedEvents },
  ]);
  t.equal(
    full.outbox.depthEvents + full.outbox.evictedEvents,
    full.outbox.acceptedEvents,
    'every accepted event is waiting or counted as evicted',
  );

  central = await restartCentral(central);
  const done = await waitFor(
    'the backlog and the loss record to reach central',
    async () => {
      const [a, c] = await Promise.all([fullStatus(agent), central.stats()]);
      return a.outbox.depthEvents === 0 && a.outbox.lossRecordsPending.length === 0 && c.stored > 0
        ? { a, c }
        : undefined;
    },
    60_000,
  );
  t.ok(done.a.uplink.lossRecordsAcked >= 1, 'central acknowledged the loss record');
  t.equal(
    done.c.stored + done.a.outbox.lostEvents,
    done.a.outbox.acceptedEvents,
    'stored + lost = accepted: nothing unaccounted for',
  );
  await central.kill();
  const db = await openDatabase(undefined, central.dataDir);
  try {
    const totals = await lossTotals(db, 'sf-evict');
    t.same(
      totals,
      [{ reason: 'evicted: outbox full', records: 1, events: done.a.outbox.lostEvents }],
      'central stored one loss record with the evicted count',
    );
  } finally {
    await db.close();
  }
});
