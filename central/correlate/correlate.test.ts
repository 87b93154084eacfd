import t, { type Test } from 'tap';
import { encodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { uplinkTopic } from '../../protocol/topics.js';
import { type Engine, freshDatabase, postgresReachable } from '../../test/support/test-databases.js';
import { storeBatch } from '../ingest/store-batch.js';
import type { Database } from '../store/db.js';
import { isPublicAddress, scopeOf, widerScope } from './finding.js';
import { recentFindingSources } from './findings-store.js';
import { type CorrelationSettings, runCorrelation } from './run-correlation.js';

const pgUp = await postgresReachable();

const TO = new Date('2025-03-20T00:00:00.000Z');
const FROM = new Date(TO.getTime() - 86_400_000);
const DAY = 86_400_000;

const SETTINGS: CorrelationSettings = {
  campaignMinMembers: 3,
  campaignWindowH: 24,
  scannerMinMembers: 3,
  emergingPortMinRatio: 3,
  emergingPortMinSources: 10,
  emergingPortBaselineDays: 28,
};

// Three members in two forces (one region), four devices; identifiers distinctive enough that
// finding any of them in a finding's JSON means it leaked.
const ORGS = `
  INSERT INTO regions (region_id, name) VALUES ('region-nw', 'North West');
  INSERT INTO forces (force_id, name, region_id) VALUES ('force-lancs', 'Lancashire', 'region-nw'),
    ('force-gmp', 'Greater Manchester', 'region-nw');
  INSERT INTO members (member_id, name, force_id) VALUES
    ('member-school', 'Greenfield School', 'force-lancs'),
    ('member-charity', 'Hillside Charity', 'force-lancs'),
    ('member-shop', 'Corner Shop Ltd', 'force-gmp');
  INSERT INTO devices (device_id, member_id, first_seen, last_seen) VALUES
    ('dev-school-a', 'member-school', now(), now()), ('dev-school-b', 'member-school', now(), now()),
    ('dev-charity', 'member-charity', now(), now()), ('dev-shop', 'member-shop', now(), now());
`;
const PRIVATE_WORDS = [
  'member-school',
  'member-charity',
  'member-shop',
  'Greenfield',
  'Hillside',
  'Corner Shop',
  'dev-school',
  'dev-charity',
  'dev-shop',
];

const CAMPAIGN_SRC = '198.51.100.7'; // at all three members: a campaign, across both forces
const TWO_MEMBER_SRC = '198.51.100.8'; // at two members of one force only
const OLD_SRC = '203.0.113.9'; // at three members, but already seen last week: not a new scanner

type Ev = Partial<ConnectionEvent> & Pick<ConnectionEvent, 'action'>;
const seqs = new Map<string, number>();

async function deliver(db: Database, device: string, receivedAt: Date, events: Ev[]): Promise<void> {
  const seq = (seqs.get(device) ?? 0) + 1;
  seqs.set(device, seq);
  const result = await storeBatch(db, {
    deviceId: device,
    topic: uplinkTopic(device, 'events'),
    payload: encodeBatch({
      v: 1,
      device,
      seq,
      created: 0,
      events: events.map((e) => ({ vendor: 'netfilter', ...e })),
    }),
    receivedAt,
  });
  if (result.status !== 'stored') throw new Error(JSON.stringify(result));
}

async function loadData(db: Database): Promise<void> {
  seqs.clear();
  await db.exec(ORGS);
  const at = (h: number) => new Date(FROM.getTime() + h * 3_600_000);
  // Baseline: ten days before the period, port 22 from two sources a day; OLD_SRC seen once.
  for (let d = 1; d <= 10; d++) {
    const day = new Date(FROM.getTime() - d * DAY + 3_600_000);
    await deliver(db, 'dev-shop', day, [
      { action: 'deny', src_ip: `192.0.2.${d}`, dst_port: 22, proto: 'tcp' },
      { action: 'deny', src_ip: `192.0.2.${d + 100}`, dst_port: 22, proto: 'tcp' },
      ...(d === 5 ? [{ action: 'deny' as const, src_ip: OLD_SRC, dst_port: 80, proto: 'tcp' }] : []),
    ]);
  }
  // The period.
  await deliver(db, 'dev-school-a', at(1), [
    { action: 'deny', src_ip: CAMPAIGN_SRC, dst_port: 3389, proto: 'tcp', count: 5 },
    { action: 'deny', src_ip: TWO_MEMBER_SRC, dst_port: 3389, proto: 'tcp' },
    { action: 'deny', src_ip: OLD_SRC, dst_port: 80, proto: 'tcp' },
    // Internal sources are never campaigns: a pseudonym, and a private address in clear.
    { action: 'deny', src_ip: 'p:abcdefghijkl', dst_port: 445, proto: 'tcp' },
    { action: 'deny', src_ip: '10.1.2.3', dst_port: 445, proto: 'tcp' },
  ]);
  await deliver(db, 'dev-school-b', at(2), [
    { action: 'deny', src_ip: CAMPAIGN_SRC, dst_port: 22, proto: 'tcp' }, // same member again
  ]);
  await deliver(db, 'dev-charity', at(5), [
    { action: 'drop', src_ip: CAMPAIGN_SRC, dst_port: 3389, proto: 'tcp', count: 2 },
    { action: 'deny', src_ip: TWO_MEMBER_SRC, dst_port: 3389, proto: 'tcp' },
    { action: 'deny', src_ip: OLD_SRC, dst_port: 80, proto: 'tcp' },
    { action: 'deny', src_ip: 'p:abcdefghijkl', dst_port: 445, proto: 'tcp' },
    { action: 'deny', src_ip: '10.1.2.3', dst_port: 445, proto: 'tcp' },
    // Allowed traffic is not an attack.
    { action: 'allow', src_ip: '198.51.100.99', dst_port: 443, proto: 'tcp' },
  ]);
  await deliver(db, 'dev-shop', at(9), [
    { action: 'reject', src_ip: CAMPAIGN_SRC, dst_port: 3389, proto: 'tcp' },
    { action: 'deny', src_ip: OLD_SRC, dst_port: 80, proto: 'tcp' },
    { action: 'deny', src_ip: 'p:abcdefghijkl', dst_port: 445, proto: 'tcp' },
    { action: 'deny', src_ip: '10.1.2.3', dst_port: 445, proto: 'tcp' },
    { action: 'allow', src_ip: '198.51.100.99', dst_port: 443, proto: 'tcp' },
    // Port 23 emerges: twelve sources where the baseline had none; port 22 stays at its usual two.
    ...Array.from({ length: 12 }, (_, i) => ({
      action: 'deny' as const,
      src_ip: `203.0.113.${100 + i}`,
      dst_port: 23,
      proto: 'tcp',
    })),
    { action: 'deny', src_ip: '192.0.2.201', dst_port: 22, proto: 'tcp' },
  ]);
  // Just outside the period: not counted.
  await deliver(db, 'dev-shop', TO, [
    { action: 'deny', src_ip: TWO_MEMBER_SRC, dst_port: 3389, proto: 'tcp' },
  ]);
  // An alert counts like a denial: TWO_MEMBER_SRC alerted on by the shop's device outside the window.
  await db.query(
    `INSERT INTO alerts (device_id, seq, raised_at, received_at, detector, severity, src_ip, summary)
     VALUES ('dev-shop', 1, $1, $1, 'horizontal-scan', 'medium', $2, 'scan')`,
    [new Date(FROM.getTime() - 3 * DAY), TWO_MEMBER_SRC],
  );
}

for (const engine of ['pglite', 'postgres'] as const satisfies readonly Engine[]) {
  const skip = engine === 'postgres' && !pgUp ? 'PostgreSQL at 127.0.0.1:5432 is unreachable' : false;

  t.test(
    `${engine}: campaigns, emerging ports and new scanners over several members' data`,
    { skip },
    async (t: Test) => {
      const { db } = await freshDatabase(t, engine);
      await loadData(db);
      const run = await runCorrelation(db, { from: FROM, to: TO, settings: SETTINGS, now: TO });

      const campaigns = run.findings.filter((f) => f.kind === 'campaign');
      t.same(
        campaigns.map((f) => f.srcIp).sort(),
        [CAMPAIGN_SRC, OLD_SRC].sort(),
        'sources at three members are campaigns; two members, pseudonyms and private addresses are not',
      );
      const campaign = campaigns.find((f) => f.srcIp === CAMPAIGN_SRC)!;
      t.match(campaign, {
        members: 3,
        forces: 2,
        scope: 'region',
        scopeId: 'region-nw',
        events: 9,
        firstSeen: new Date(FROM.getTime() + 3_600_000).toISOString(),
        lastSeen: new Date(FROM.getTime() + 9 * 3_600_000).toISOString(),
      });

      const ports = run.findings.filter((f) => f.kind === 'emerging-port');
      t.equal(run.baselineDays, 10);
      t.same(
        ports.map((f) => `${f.proto}/${f.dstPort}`),
        ['tcp/23'],
        'port 23 emerged; port 22 stayed at its baseline',
      );
      t.match(ports[0], { scope: 'force', scopeId: 'force-gmp', detail: { sources: 12, ratio: 12 } });

      const fresh = run.findings.filter((f) => f.kind === 'new-scanner');
      t.same(
        fresh.map((f) => f.srcIp),
        [CAMPAIGN_SRC],
        'a source seen last week is not new',
      );

      t.same(run.counts, { campaigns: 2, emergingPorts: 1, newScanners: 1 });
      t.same(run.stored, { inserted: 4, updated: 0 });

      const text = JSON.stringify(run.findings);
      for (const word of PRIVATE_WORDS) t.notOk(text.includes(word), `no finding names ${word}`);
      const rows = await db.query('SELECT * FROM findings');
      const stored = JSON.stringify(rows);
      for (const word of PRIVATE_WORDS) t.notOk(stored.includes(word), `no stored finding names ${word}`);

      // Again over the same period: merged into the same rows, nothing new.
      const again = await runCorrelation(db, { from: FROM, to: TO, settings: SETTINGS, now: TO });
      t.same(again.stored, { inserted: 0, updated: 4 });
      const [count] = await db.query<{ n: number }>('SELECT count(*) AS n FROM findings');
      t.equal(count?.n, 4);

      // The next hour's window overlaps: the campaign row moves on instead of a new row.
      const later = await runCorrelation(db, {
        from: new Date(FROM.getTime() + 3_600_000),
        to: new Date(TO.getTime() + 3_600_000),
        settings: SETTINGS,
        now: TO,
      });
      // That window also holds the shop's denial of TWO_MEMBER_SRC at TO: its third member.
      t.same(later.stored, { inserted: 1, updated: 4 }, 'the earlier findings move on; one new campaign');
      const [rowsNow] = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM findings WHERE kind = 'campaign'",
      );
      t.equal(rowsNow?.n, 3);
      const sources = await recentFindingSources(db, FROM);
      t.same(
        sources.map((s) => [s.srcIp, s.members]),
        [
          [CAMPAIGN_SRC, 3],
          [TWO_MEMBER_SRC, 3],
          [OLD_SRC, 3],
        ],
      );
    },
  );

  t.test(`${engine}: a two-member campaign within one force is force-scoped`, { skip }, async (t: Test) => {
    const { db } = await freshDatabase(t, engine);
    await loadData(db);
    const run = await runCorrelation(db, {
      from: FROM,
      to: TO,
      settings: { ...SETTINGS, campaignMinMembers: 2, campaignWindowH: 2 },
      now: TO,
    });
    const twoMember = run.findings.find((f) => f.kind === 'campaign' && f.srcIp === TWO_MEMBER_SRC);
    t.equal(twoMember, undefined, 'two members, but four hours apart: not within a 2 h window');
    const wide = await runCorrelation(db, {
      from: FROM,
      to: TO,
      settings: { ...SETTINGS, campaignMinMembers: 2 },
      now: TO,
    });
    t.match(
      wide.findings.find((f) => f.kind === 'campaign' && f.srcIp === TWO_MEMBER_SRC),
      { members: 2, forces: 1, scope: 'force', scopeId: 'force-lancs' },
    );
  });
}

t.test('scope rules', async (t) => {
  const spread = { forces: 1, regions: 1, regionUnknown: false, forceId: 'f1', regionId: 'r1' };
  t.same(scopeOf(spread), { scope: 'force', scopeId: 'f1' });
  t.same(scopeOf({ ...spread, forces: 2 }), { scope: 'region', scopeId: 'r1' });
  t.same(scopeOf({ ...spread, forces: 2, regions: 2 }), { scope: 'nation', scopeId: null });
  t.same(scopeOf({ ...spread, forces: 2, regionUnknown: true }), { scope: 'nation', scopeId: null });
  t.same(widerScope({ scope: 'force', scopeId: 'f1' }, { scope: 'region', scopeId: 'r1' }), {
    scope: 'region',
    scopeId: 'r1',
  });
  t.same(widerScope({ scope: 'force', scopeId: 'f1' }, { scope: 'force', scopeId: 'f2' }), {
    scope: 'nation',
    scopeId: null,
  });
});

t.test('public addresses', async (t) => {
  for (const a of ['8.8.8.8', '198.51.100.7', '2001:db8::1', '2a00:1450::1']) t.ok(isPublicAddress(a), a);
  for (const a of [
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '100.64.0.1',
    '127.0.0.1',
    '169.254.1.1',
    '224.0.0.1',
  ])
    t.notOk(isPublicAddress(a), a);
  for (const a of ['fe80::1', 'fd00::1', '::1', '::', 'p:abcdefghijkl', 'not an address'])
    t.notOk(isPublicAddress(a), a);
});
