import t, { type Test } from 'tap';
import { type Engine, freshDatabase, postgresReachable } from '../../test/support/test-databases.js';
import type { Database } from '../store/db.js';
import { addOfficer, DEFAULT_SIGN_IN_POLICY, endSession, sessionOfficer, signIn } from './officers.js';
import { totpCode } from './totp.js';

const engines: Engine[] = (await postgresReachable()) ? ['pglite', 'postgres'] : ['pglite'];
const T0 = new Date('2025-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

async function actions(db: Database): Promise<string[]> {
  const rows = await db.query<{ action: string }>('SELECT action FROM audit_log ORDER BY id');
  return rows.map((r) => r.action);
}

async function setup(t: Test, engine: Engine) {
  const { db } = await freshDatabase(t, engine);
  const created = await addOfficer(db, {
    username: 'pc.smith',
    forceId: 'thames-valley',
    region: 'south-east',
  });
  const good = (now: Date, ip = '192.0.2.1') => ({
    username: 'pc.smith',
    password: created.initialPassword,
    totp: totpCode(created.totpSecret, now.getTime()),
    ip,
    now,
  });
  return { db, created, good };
}

for (const engine of engines) {
  t.test(`${engine}: officer add creates force and region, refuses a taken name`, async (t) => {
    const { db, created } = await setup(t, engine);
    t.match(created.otpauthUri, /^otpauth:\/\/totp\/CyberAlarm:pc\.smith\?/);
    t.same(await db.query('SELECT force_id, region_id FROM forces'), [
      { force_id: 'thames-valley', region_id: 'south-east' },
    ]);
    const stored = await db.query<{ password_hash: string }>('SELECT password_hash FROM officers');
    t.notOk(stored[0]?.password_hash.includes(created.initialPassword), 'only the hash is stored');
    await t.rejects(addOfficer(db, { username: 'pc.smith', forceId: 'other' }), /taken/);
    await t.rejects(addOfficer(db, { username: 'bad name!', forceId: 'x' }), /username/);
    t.same(await actions(db), ['officer.created']);
  });

  t.test(`${engine}: password + TOTP signs in; a session is found, expires and ends`, async (t) => {
    const { db, good } = await setup(t, engine);
    const result = await signIn(db, good(T0));
    if (!result.ok) throw new Error(`sign-in failed: ${result.reason}`);
    t.equal(result.officer.forceId, 'thames-valley');
    const found = await sessionOfficer(db, result.session.id, at(60_000));
    t.equal(found?.officer.username, 'pc.smith');
    t.equal(found?.csrfToken, result.session.csrfToken);
    t.equal(await sessionOfficer(db, `${result.session.id}x`, at(60_000)), undefined, 'another id');
    t.equal(
      await sessionOfficer(db, result.session.id, at(DEFAULT_SIGN_IN_POLICY.sessionTtlMs + 1)),
      undefined,
      'expired',
    );
    await endSession(db, result.session.id);
    t.equal(await sessionOfficer(db, result.session.id, at(60_000)), undefined, 'ended');
    t.same(await actions(db), ['officer.created', 'signin.succeeded']);
  });

  t.test(`${engine}: a TOTP code is refused when wrong, stale, or used twice`, async (t) => {
    const { db, good } = await setup(t, engine);
    t.same(await signIn(db, { ...good(T0), totp: '000000' }), { ok: false, reason: 'invalid' });
    t.same(
      await signIn(db, { ...good(T0), now: at(120_000) }),
      { ok: false, reason: 'invalid' },
      'stale code',
    );
    t.ok((await signIn(db, good(T0))).ok);
    t.same(await signIn(db, good(T0)), { ok: false, reason: 'invalid' }, 'replayed code');
    t.ok((await signIn(db, good(at(30_000)))).ok, 'next step works');
  });

  t.test(
    `${engine}: five failures lock the account for 15 minutes, even for the right password`,
    async (t) => {
      const { db, good } = await setup(t, engine);
      for (let i = 0; i < 4; i++) {
        t.same(await signIn(db, { ...good(at(i * 1000)), password: 'wrong' }), {
          ok: false,
          reason: 'invalid',
        });
      }
      t.same(
        await signIn(db, { ...good(at(5000)), password: 'wrong' }),
        { ok: false, reason: 'locked' },
        '5th',
      );
      t.same(
        await signIn(db, good(at(60_000))),
        { ok: false, reason: 'locked' },
        'right password, still locked',
      );
      t.same(await signIn(db, good(at(14 * 60_000))), { ok: false, reason: 'locked' });
      t.ok((await signIn(db, good(at(15 * 60_000 + 6000)))).ok, 'unlocked after 15 minutes');
      const log = await actions(db);
      t.equal(log.filter((a) => a === 'signin.locked_out').length, 1);
      t.equal(log.filter((a) => a === 'signin.failed').length, 7);
      t.equal(log.at(-1), 'signin.succeeded');
    },
  );

  t.test(`${engine}: one address failing across many accounts is rate-limited`, async (t) => {
    const { db, good } = await setup(t, engine);
    const policy = { ...DEFAULT_SIGN_IN_POLICY, ipMaxFailures: 6 };
    for (let i = 0; i < 6; i++) {
      const r = await signIn(
        db,
        { username: `nobody${i}`, password: 'x', totp: '123456', ip: '198.51.100.7', now: at(i) },
        policy,
      );
      t.same(r, { ok: false, reason: 'invalid' });
    }
    t.same(await signIn(db, { ...good(at(100)), ip: '198.51.100.7' }, policy), {
      ok: false,
      reason: 'rate_limited',
    });
    t.ok(
      (await signIn(db, { ...good(at(100)), ip: '198.51.100.8' }, policy)).ok,
      'other addresses unaffected',
    );
    t.ok(
      (await signIn(db, { ...good(at(policy.ipWindowMs + 30_000)), ip: '198.51.100.7' }, policy)).ok,
      'after the window',
    );
    t.ok((await actions(db)).includes('signin.rate_limited'));
  });
}
