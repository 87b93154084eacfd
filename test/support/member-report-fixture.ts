/**
 * Known data for the member report tests: one force, three members, a device each (m1 has two);
 * m1's appliance saw a blocked SSH scan (also seen by m2 and m3), an alerted source it let in on
 * RDP, a campaign source it let in on 443, a benign allowed source, its own outbound traffic, a loss
 * record and a silent day. Internal hosts are pseudonyms, as the appliance sends them. Stored through
 * ingest (storeBatch) and rolled up as central would.
 */
import { storeBatch } from '../../central/ingest/store-batch.js';
import type { Database } from '../../central/store/db.js';
import { runRollups } from '../../central/store/rollup-job.js';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';

export const FROM = new Date('2025-03-01T00:00:00.000Z');
export const TO = new Date('2025-03-08T00:00:00.000Z');
export const HOST_A = 'p:aaaaaaaaaaaa';
export const HOST_B = 'p:bbbbbbbbbbbb';
export const SCANNER = '203.0.113.7';
export const ALERTED = '198.51.100.9';
export const CAMPAIGN = '192.0.2.44';
export const BENIGN = '192.0.2.200';
export const SCRIPT = '<script>alert("x")</script>';

type Ev = Partial<ConnectionEvent> & Pick<ConnectionEvent, 'action'>;

const BATCHES: readonly { device: string; seq: number; at: string; events: Ev[] }[] = [
  {
    device: 'dev-1a',
    seq: 1,
    at: '2025-03-01T10:00:00.000Z',
    events: [
      { action: 'deny', src_ip: SCANNER, dst_ip: HOST_A, dst_port: 22, proto: 'tcp', count: 50 },
      { action: 'drop', src_ip: SCANNER, dst_ip: HOST_A, dst_port: 23, proto: 'tcp', count: 5 },
      { action: 'allow', src_ip: BENIGN, dst_ip: HOST_A, dst_port: 443, proto: 'tcp', count: 10 },
      { action: 'allow', src_ip: HOST_A, dst_ip: '8.8.8.8', dst_port: 53, proto: 'udp', count: 7 },
    ],
  },
  {
    device: 'dev-1a',
    seq: 2,
    at: '2025-03-04T12:00:00.000Z',
    events: [
      { action: 'allow', src_ip: ALERTED, dst_ip: HOST_B, dst_port: 3389, proto: 'tcp', count: 3 },
      { action: 'deny', src_ip: ALERTED, dst_ip: HOST_B, dst_port: 3389, proto: 'tcp', count: 40 },
      { action: 'allow', src_ip: CAMPAIGN, dst_ip: HOST_A, dst_port: 443, proto: 'tcp', count: 2 },
    ],
  },
  {
    device: 'dev-1b',
    seq: 1,
    at: '2025-03-07T20:00:00.000Z',
    events: [{ action: 'reject', src_ip: SCANNER, dst_ip: HOST_B, dst_port: 22, proto: 'tcp', count: 1 }],
  },
  {
    device: 'dev-2',
    seq: 1,
    at: '2025-03-02T10:00:00.000Z',
    events: [{ action: 'deny', src_ip: SCANNER, dst_ip: 'p:cccccccccccc', dst_port: 22, proto: 'tcp' }],
  },
  {
    device: 'dev-3',
    seq: 1,
    at: '2025-03-03T10:00:00.000Z',
    events: [{ action: 'deny', src_ip: SCANNER, dst_ip: 'p:dddddddddddd', dst_port: 22, proto: 'tcp' }],
  },
];

export async function loadMemberReportFixture(db: Database): Promise<void> {
  await db.exec(`
    INSERT INTO forces (force_id, name) VALUES ('f1', 'Force one');
    INSERT INTO members (member_id, name, force_id) VALUES ('m1', 'Acme <b>Ltd</b>', 'f1'),
      ('m2', 'Charity', 'f1'), ('m3', 'Shop', 'f1');
    INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES
      ('dev-1a', 'm1', '2025-02-01', '2025-03-07'), ('dev-1b', 'm1', '2025-02-01', '2025-03-07'),
      ('dev-2', 'm2', '2025-02-01', '2025-03-07'), ('dev-3', 'm3', '2025-02-01', '2025-03-07');
  `);
  for (const b of BATCHES) {
    const result = await storeBatch(db, {
      deviceId: b.device,
      topic: uplinkTopic(b.device, 'events'),
      payload: encodeBatch({
        v: 1,
        device: b.device,
        seq: b.seq,
        created: 0,
        events: b.events.map((e) => ({ vendor: 'netfilter', ...e })),
      }),
      receivedAt: new Date(b.at),
    });
    if (result.status !== 'stored') throw new Error(`fixture batch: ${JSON.stringify(result)}`);
  }
  await runRollups(db);
  await db.query(
    `INSERT INTO alerts (device_id, seq, raised_at, received_at, detector, severity, src_ip, dst_ip, dst_port,
       summary, detail, alert_id, kind, status, label, key_role, first_seen, last_seen, events)
     VALUES ('dev-1a', 10, '2025-03-04T11:50:00Z', '2025-03-04T11:51:00Z', 'brute-force', 'high', $1, $2, 3389,
       $3, $4::jsonb, 'brute-force:x', 'repeated', 'final', 'targeted', 'source', '2025-03-04T11:50:00Z',
       '2025-03-04T12:05:00Z', 43)`,
    [
      ALERTED,
      HOST_B,
      `Password guessing on remote desktop ${SCRIPT}`,
      JSON.stringify({
        targets: [HOST_B],
        ports: [3389],
        protocols: ['tcp'],
        distinctTargets: 1,
        distinctPorts: 1,
        advice: `Put remote desktop behind a VPN ${SCRIPT}`,
      }),
    ],
  );
  await db.query(
    `INSERT INTO findings (kind, subject, scope, scope_id, src_ip, members, forces, events, first_seen, last_seen,
       range_from, range_to, created_at, updated_at)
     VALUES ('campaign', $1, 'nation', NULL, $1, 14, 5, 900, '2025-03-02', '2025-03-05', '2025-03-02', '2025-03-05',
       '2025-03-05', '2025-03-05')`,
    [CAMPAIGN],
  );
  await db.query(
    `INSERT INTO loss_records (device_id, seq, reason, count, first_ts, last_ts)
     VALUES ('dev-1a', 5, 'outbox-full', 1234, '2025-03-05T00:00:00Z', '2025-03-05T06:00:00Z'),
            ('dev-1a', 6, 'outbox-full', 99, '2025-01-05T00:00:00Z', '2025-01-05T06:00:00Z')`,
  );
}
