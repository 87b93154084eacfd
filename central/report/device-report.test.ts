import t, { type Test } from 'tap';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';
import {
  type Engine,
  freshDatabase as freshDb,
  postgresReachable,
} from '../../test/support/test-databases.js';
import { storeBatch } from '../ingest/store-batch.js';
import type { Database } from '../store/db.js';
import { type DeviceReport, deviceReport, formatDeviceReport } from './device-report.js';

const pgUp = await postgresReachable();
const freshDatabase = async (t: Test, engine: Engine) => (await freshDb(t, engine)).db;

const FROM = new Date('2025-03-01T00:00:00.000Z');
const TO = new Date('2025-03-02T00:00:00.000Z');

type Ev = Partial<ConnectionEvent> & Pick<ConnectionEvent, 'action'>;
const ev = (e: Ev): ConnectionEvent => ({ vendor: 'netfilter', ...e });

/** Known data: what each batch holds and when central received it. */
const BATCHES: { device: string; seq: number; receivedAt: string; events: Ev[] }[] = [
  {
    device: 'dev-r',
    seq: 1,
    receivedAt: '2025-03-01T00:00:00.000Z', // exactly `from`: inside
    events: [
      { action: 'deny', src_ip: '10.0.0.10', dst_port: 22, proto: 'tcp', count: 4 },
      { action: 'deny', src_ip: '100.0.0.1', dst_port: 22, proto: 'tcp', count: 4 },
      { action: 'allow', src_ip: '192.0.2.5', dst_port: 443, proto: 'tcp' },
    ],
  },
  {
    device: 'dev-r',
    seq: 2,
    receivedAt: '2025-03-01T10:00:00.000Z',
    events: [
      // The device's own time is outside the period: the period is over received_at.
      { action: 'drop', src_ip: '9.9.9.9', dst_port: 53, proto: 'udp', count: 2, ts: '2025-02-20T00:00:00Z' },
      { action: 'deny', src_ip: '10.0.0.10', dst_port: 3389, proto: 'tcp' },
      { action: 'deny', src_ip: '100.0.0.1', dst_port: 3389, proto: 'tcp' },
      { action: 'reject', dst_port: 53, proto: 'tcp', count: 3 },
      { action: 'allow', src_ip: '192.0.2.5', proto: 'icmp', count: 2 },
      { action: 'deny', src_ip: '9.9.9.9', dst_port: 53 },
      { action: 'allow', dst_port: 443 },
    ],
  },
  {
    device: 'dev-r',
    seq: 3,
    receivedAt: '2025-03-02T00:00:00.000Z', // exactly `to`: outside
    events: [{ action: 'deny', src_ip: '203.0.113.1', dst_port: 23, proto: 'tcp', count: 100 }],
  },
  {
    device: 'dev-r',
    seq: 4,
    receivedAt: '2025-02-28T23:59:59.999Z', // just before: outside
    events: [{ action: 'deny', src_ip: '203.0.113.2', dst_port: 23, proto: 'tcp', count: 50 }],
  },
  {
    device: 'dev-other', // another device in the period: outside
    seq: 1,
    receivedAt: '2025-03-01T10:00:00.000Z',
    events: [{ action: 'deny', src_ip: '10.0.0.10', dst_port: 22, proto: 'tcp', count: 1000 }],
  },
];

const EXPECTED_TOP_4: DeviceReport = {
  deviceId: 'dev-r',
  from: '2025-03-01T00:00:00.000Z',
  to: '2025-03-02T00:00:00.000Z',
  totalEvents: 20,
  byAction: [
    { action: 'deny', events: 11 },
    { action: 'allow', events: 4 },
    { action: 'reject', events: 3 },
    { action: 'drop', events: 2 },
  ],
  // Ties by byte order ("C"): '.' sorts before '0', '1' before '9'.
  topSources: [
    { ip: '10.0.0.10', events: 5 },
    { ip: '100.0.0.1', events: 5 },
    { ip: '192.0.2.5', events: 3 },
    { ip: '9.9.9.9', events: 3 },
  ],
  topDestinationPorts: [
    { port: 22, proto: 'tcp', events: 8 },
    { port: 53, proto: 'tcp', events: 3 },
    { port: 53, proto: 'udp', events: 2 },
    { port: 3389, proto: 'tcp', events: 2 },
  ],
};

const EXPECTED_PORTS_TOP_10 = [
  ...EXPECTED_TOP_4.topDestinationPorts,
  { port: 53, proto: null, events: 1 },
  { port: 443, proto: null, events: 1 },
  { port: 443, proto: 'tcp', events: 1 },
];

async function load(db: Database): Promise<void> {
  for (const b of BATCHES) {
    const payload = encodeBatch({ v: 1, device: b.device, seq: b.seq, created: 0, events: b.events.map(ev) });
    const result = await storeBatch(db, {
      deviceId: b.device,
      topic: uplinkTopic(b.device, 'events'),
      payload,
      receivedAt: new Date(b.receivedAt),
    });
    if (result.status !== 'stored') throw new Error(`fixture batch not stored: ${JSON.stringify(result)}`);
  }
}

const answers: Partial<Record<'pglite' | 'postgres', unknown>> = {};

for (const engine of ['pglite', 'postgres'] as const) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;
  t.test(`${engine}: the device report over known data`, { skip }, async (t) => {
    const db = await freshDatabase(t, engine);
    await load(db);
    const top4 = await deviceReport(db, { deviceId: 'dev-r', from: FROM, to: TO, top: 4 });
    t.same(top4, EXPECTED_TOP_4);
    const top10 = await deviceReport(db, { deviceId: 'dev-r', from: FROM, to: TO, top: 10 });
    t.same(top10.topDestinationPorts, EXPECTED_PORTS_TOP_10, 'ports with no protocol sort first among ties');
    t.equal(top10.topSources.length, 4, 'events without a source are not a source');
    const wide = await deviceReport(db, {
      deviceId: 'dev-r',
      from: new Date('2025-01-01T00:00:00Z'),
      to: new Date('2025-04-01T00:00:00Z'),
      top: 1,
    });
    t.same(wide.totalEvents, 170, 'a wider period takes in the batches at both edges');
    t.same(wide.topSources, [{ ip: '203.0.113.1', events: 100 }]);
    const empty = await deviceReport(db, { deviceId: 'dev-unknown', from: FROM, to: TO, top: 4 });
    t.same(empty, {
      deviceId: 'dev-unknown',
      from: EXPECTED_TOP_4.from,
      to: EXPECTED_TOP_4.to,
      totalEvents: 0,
      byAction: [],
      topSources: [],
      topDestinationPorts: [],
    });
    answers[engine] = { top4, top10, wide, empty };
  });
}

t.test(
  'PGlite and PostgreSQL give the same answers',
  { skip: pgUp ? false : 'PostgreSQL at 127.0.0.1:5432 is unreachable' },
  async (t) => {
    t.ok(answers.pglite && answers.postgres, 'both engines ran');
    t.same(answers.postgres, answers.pglite);
  },
);

t.test('formatDeviceReport renders a readable table', async (t) => {
  const text = formatDeviceReport(EXPECTED_TOP_4);
  t.equal(
    text,
    [
      'Device report: dev-r',
      'Period (received): 2025-03-01T00:00:00.000Z to 2025-03-02T00:00:00.000Z',
      'Total events: 20',
      '',
      'Events by action',
      '  action  events  share',
      '  ------  ------  -----',
      '  deny        11  55.0%',
      '  allow        4  20.0%',
      '  reject       3  15.0%',
      '  drop         2  10.0%',
      '',
      'Top sources',
      '  source     events  share',
      '  ---------  ------  -----',
      '  10.0.0.10       5  25.0%',
      '  100.0.0.1       5  25.0%',
      '  192.0.2.5       3  15.0%',
      '  9.9.9.9         3  15.0%',
      '',
      'Top destination ports',
      '  port  proto  events  share',
      '  ----  -----  ------  -----',
      '    22  tcp         8  40.0%',
      '    53  tcp         3  15.0%',
      '    53  udp         2  10.0%',
      '  3389  tcp         2  10.0%',
      '',
    ].join('\n'),
  );
  const empty = formatDeviceReport({
    ...EXPECTED_TOP_4,
    totalEvents: 0,
    byAction: [],
    topSources: [],
    topDestinationPorts: [],
  });
  t.match(empty, /Total events: 0\n\nEvents by action\n {2}\(none\)\n/);
  const big = formatDeviceReport({
    ...EXPECTED_TOP_4,
    totalEvents: 1234567,
    byAction: [{ action: 'deny', events: 1234567 }],
  });
  t.match(big, 'Total events: 1,234,567', 'thousands separated');
  t.match(big, '  deny    1,234,567  100.0%');
});
