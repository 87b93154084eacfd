/**
 * `cyberalarm-central correlate` as an operator runs it (the built CLI on central's PGlite data dir):
 * four devices of three members in two forces, stored as ingest stores them; the campaign source is
 * printed with its member count and scope, a source seen at two members is not, and no line names a
 * member or a device.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { storeBatch } from '../central/ingest/store-batch.js';
import { openDatabase } from '../central/store/db.js';
import { migrate } from '../central/store/migrate.js';
import { encodeBatch } from '../protocol/codec.js';
import { uplinkTopic } from '../protocol/topics.js';
import { CENTRAL_CLI, runCli } from '../tools/demo/harness.js';

const TO = '2025-06-02T00:00:00.000Z';
const FROM = '2025-06-01T00:00:00.000Z';
const PRIVATE = [
  'mem-north-school',
  'mem-north-clinic',
  'mem-east-shop',
  'North School',
  'North Clinic',
  'East Shop',
];
const DEVICES = ['dv-school-1', 'dv-school-2', 'dv-clinic', 'dv-shop'];

t.test('correlate prints the campaign, not the two-member source, and names nobody', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ca-correlate-cli-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const db = await openDatabase(undefined, dataDir);
  try {
    await migrate(db);
    await db.exec(`
      INSERT INTO regions (region_id, name) VALUES ('north', 'North'), ('east', 'East');
      INSERT INTO forces (force_id, name, region_id) VALUES ('force-n', 'Northshire', 'north'), ('force-e', 'Eastshire', 'east');
      INSERT INTO members (member_id, name, force_id) VALUES ('mem-north-school', 'North School', 'force-n'),
        ('mem-north-clinic', 'North Clinic', 'force-n'), ('mem-east-shop', 'East Shop', 'force-e');
      INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES
        ('dv-school-1', 'mem-north-school', now(), now()), ('dv-school-2', 'mem-north-school', now(), now()),
        ('dv-clinic', 'mem-north-clinic', now(), now()), ('dv-shop', 'mem-east-shop', now(), now());
    `);
    const hits: [string, string[]][] = [
      ['dv-school-1', ['198.51.100.10', '198.51.100.20']],
      ['dv-school-2', ['198.51.100.10', '198.51.100.20']], // same member: still one member
      ['dv-clinic', ['198.51.100.10', '198.51.100.20']],
      ['dv-shop', ['198.51.100.10']],
    ];
    for (const [i, [device, sources]] of hits.entries()) {
      await storeBatch(db, {
        deviceId: device,
        topic: uplinkTopic(device, 'events'),
        payload: encodeBatch({
          v: 1,
          device,
          seq: 1,
          created: 0,
          events: sources.map((src_ip) => ({ vendor: 'netfilter', action: 'deny', src_ip, dst_port: 22 })),
        }),
        receivedAt: new Date(Date.parse(FROM) + (i + 1) * 3_600_000),
      });
    }
  } finally {
    await db.close();
  }

  const out = await runCli(CENTRAL_CLI, ['correlate', '--data-dir', dataDir, '--from', FROM, '--to', TO]);
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const findings = lines.filter((l) => l.event === 'finding');
  t.match(findings, [
    {
      kind: 'campaign',
      srcIp: '198.51.100.10',
      members: 3,
      forces: 2,
      scope: 'nation', // two forces in two regions
      scopeId: null,
      events: 4,
    },
  ]);
  t.notOk(
    findings.some((f) => f.srcIp === '198.51.100.20'),
    'a source at two members (three devices) is not a campaign',
  );
  t.match(lines.at(-1), { event: 'summary', from: FROM, to: TO, campaigns: 1, inserted: 1 });
  for (const word of [...PRIVATE, ...DEVICES]) t.notOk(out.includes(word), `no line names ${word}`);
});
