import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { intelKeyRing, verifyIntelMessage } from '../../protocol/intel.js';
import { intelTopic } from '../../protocol/topics.js';
import { freshDatabase } from '../../test/support/test-databases.js';
import { importListFile } from './intel-commands.js';
import { intelDir, loadPublished } from './intel-files.js';
import { publishIntelLists, REFRESH_AFTER_MS, resendPublished } from './intel-publisher.js';
import type { IntelSink } from './intel-sink.js';
import { loadOrCreateIntelSigningKey } from './signing-key.js';

function recordingSink(): IntelSink & { sent: { topic: string; payload: Uint8Array; retain: boolean }[] } {
  const sent: { topic: string; payload: Uint8Array; retain: boolean }[] = [];
  return {
    sent,
    publish: async (topic, payload, retain) => {
      sent.push({ topic, payload, retain });
    },
    close: async () => {},
  };
}

const SETTINGS = { scannerMinMembers: 5, intelListDays: 7 };
const NOW = Date.parse('2025-03-20T00:00:00Z');

async function addFinding(
  db: Awaited<ReturnType<typeof freshDatabase>>['db'],
  src: string,
  members: number,
  lastSeen: Date,
) {
  await db.query(
    `INSERT INTO findings (kind, subject, scope, scope_id, src_ip, members, forces, events, first_seen, last_seen,
                           range_from, range_to, created_at, updated_at)
     VALUES ('campaign', $1, 'nation', NULL, $1, $2, 2, 10, $3, $3, $3, $3, $3, $3)`,
    [src, members, lastSeen],
  );
}

t.test(
  'campaigns, scanners and imported lists are signed, published retained and continue as deltas',
  async (t) => {
    const { db } = await freshDatabase(t, 'pglite');
    const dataDir = mkdtempSync(join(tmpdir(), 'intel-pub-'));
    const key = loadOrCreateIntelSigningKey(intelDir(dataDir));
    const keys = intelKeyRing([key.publicKey]);
    await addFinding(db, '198.51.100.7', 3, new Date(NOW - 3_600_000)); // campaign
    // More campaigns, so that one more is a delta smaller than the snapshot.
    for (let i = 10; i < 30; i++) await addFinding(db, `198.51.100.${i}`, 3, new Date(NOW - 7_200_000));
    await addFinding(db, '203.0.113.50', 12, new Date(NOW - 3_600_000)); // mass scanner
    await addFinding(db, '198.51.100.99', 3, new Date(NOW - 30 * 86_400_000)); // too old
    const listFile = join(dataDir, 'drop.txt');
    writeFileSync(listFile, '192.0.2.0/24 ; SBL1\n198.18.0.0/15\n');
    t.match(importListFile({ dataDir, list: 'drop', file: listFile, format: 'auto' }), { entries: 2 });

    let now = NOW;
    const sink = recordingSink();
    const opts = { dataDir, db, signer: key, sink, settings: SETTINGS, now: () => now };
    const first = await publishIntelLists(opts);
    t.same(
      first.map((o) => [o.list, o.action, o.kind, o.version, o.entries]),
      [
        ['campaigns', 'published', 'full', 1, 21],
        ['scanners', 'published', 'full', 1, 1],
        ['drop', 'published', 'full', 1, 2],
      ],
    );
    t.ok(sink.sent.every((m) => m.retain));
    const full = sink.sent.find((m) => m.topic === intelTopic('campaigns', 'full'))!;
    const verified = verifyIntelMessage(full.payload, {
      keys,
      now,
      expect: { list: 'campaigns', kind: 'full' },
    });
    t.ok(verified.ok, 'an appliance with the public key verifies it');

    // Nothing changed: nothing sent.
    sink.sent.length = 0;
    const same = await publishIntelLists(opts);
    t.same(
      same.map((o) => o.action),
      ['unchanged', 'unchanged', 'unchanged'],
    );
    t.equal(sink.sent.length, 0);

    // A new campaign: a delta on top of the snapshot, continuing after a "restart" (state from disk).
    await addFinding(db, '198.51.100.8', 4, new Date(NOW));
    now += 60_000;
    const next = await publishIntelLists({ ...opts, sink });
    t.match(next[0], {
      list: 'campaigns',
      action: 'published',
      kind: 'delta',
      version: 2,
      added: 1,
      removed: 0,
    });
    t.same(
      sink.sent.map((m) => m.topic),
      [intelTopic('campaigns', 'delta')],
    );
    t.match(loadPublished(dataDir, 'campaigns'), {
      ok: true,
      value: { state: { version: 2, baseVersion: 1 } },
    });

    // Unchanged lists are refreshed once a day, so they never near expiry on the appliances.
    now += REFRESH_AFTER_MS;
    const refreshed = await publishIntelLists(opts);
    t.same(
      refreshed.map((o) => [o.action, o.version]),
      [
        ['published', 3],
        ['published', 2],
        ['published', 2],
      ],
    );

    // The embedded broker starts empty: what was recorded is sent again, as it was.
    const fresh = recordingSink();
    const resent = await resendPublished({ dataDir, sink: fresh });
    t.same(
      resent.map((o) => [o.list, o.action]),
      [
        ['campaigns', 'resent'],
        ['drop', 'resent'],
        ['scanners', 'resent'],
      ],
    );
    t.ok(fresh.sent.length >= 3);
  },
);

t.test('a publication the broker did not take is sent at the next run, under the same version', async (t) => {
  const { db } = await freshDatabase(t, 'pglite');
  const dataDir = mkdtempSync(join(tmpdir(), 'intel-pub-'));
  const key = loadOrCreateIntelSigningKey(intelDir(dataDir));
  await addFinding(db, '198.51.100.7', 3, new Date(NOW));
  const failing: IntelSink = {
    publish: async () => {
      throw new Error('broker down');
    },
    close: async () => {},
  };
  const opts = { dataDir, db, signer: key, settings: SETTINGS, now: () => NOW };
  const failed = await publishIntelLists({ ...opts, sink: failing });
  t.match(failed[0], {
    list: 'campaigns',
    action: 'refused',
    version: 1,
    reason: /not yet sent.*broker down/,
  });
  const sink = recordingSink();
  const retried = await publishIntelLists({ ...opts, sink });
  t.match(retried[0], { list: 'campaigns', action: 'resent', version: 1 });
});

t.test('import refuses central list names and files without entries', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'intel-imp-'));
  const file = join(dataDir, 'x.txt');
  writeFileSync(file, '# nothing\nnot-an-address\n');
  t.throws(() => importListFile({ dataDir, list: 'campaigns', file, format: 'auto' }), /central builds/);
  t.throws(() => importListFile({ dataDir, list: 'Bad Name', file, format: 'auto' }), /--list/);
  t.throws(() => importListFile({ dataDir, list: 'mine', file, format: 'auto' }), /no entries/);
  t.throws(() => importListFile({ dataDir, list: 'mine', file, format: 'xml' }), /--format/);
});
