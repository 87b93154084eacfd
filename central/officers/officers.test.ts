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

  t.test(`${engine}: an attacker who knows the username cannot lock the officer out`, async (t) => {
    const { db, good } = await setup(t, engine);
    const attacker = '198.51.100.66';
    let now = 0;
    let evaluated = 0;
    for (let i = 0; i < 40; i++) {
      const r = await signIn(db, { ...good(at(now)), password: `guess ${i}`, ip: attacker });
      if (r.ok) throw new Error('a guess got in');
      if (r.reason === 'invalid') evaluated++;
      now += r.reason === 'rate_limited' ? r.retryAfterMs : 1;
    }
    t.ok(evaluated >= 10, 'the attacker made many failed attempts');
    t.ok((await signIn(db, good(at(now + 30_000), '192.0.2.1'))).ok, 'the officer elsewhere signs in');
    t.ok(
      (await signIn(db, good(at(now + 60_000), attacker))).ok,
      'and even from the attacker’s address (a shared NAT), with password and a current code',
    );
    const log = await actions(db);
    t.ok(log.includes('signin.rate_limited'), 'throttling is audited');
    t.ok(log.includes('signin.locked_out'), 'the account switching to code-first is audited');
  });

  t.test(`${engine}: delays grow for the attacking (account, address), nobody else's`, async (t) => {
    const { db, good } = await setup(t, engine);
    const other = await addOfficer(db, { username: 'pc.jones', forceId: 'thames-valley' });
    const nat = '203.0.113.9';
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 12 && waits.length < 5; i++) {
      const r = await signIn(db, { ...good(at(now)), password: 'wrong', ip: nat });
      if (r.ok) throw new Error('wrong password accepted');
      if (r.reason === 'rate_limited') {
        waits.push(r.retryAfterMs);
        now += r.retryAfterMs; // the attacker retries as soon as it may
      }
    }
    t.same(waits, [2_000, 4_000, 8_000, 16_000, 32_000], 'the wait doubles with each failure');
    t.same(
      await signIn(db, { ...good(at(now)), password: 'wrong', totp: '000000', ip: nat }),
      { ok: false, reason: 'invalid' },
      'heard again once the wait is over',
    );
    const r = await signIn(db, { ...good(at(now)), password: 'wrong', ip: nat });
    t.match(r, { ok: false, reason: 'rate_limited', retryAfterMs: 64_000 });
    t.ok(
      (
        await signIn(db, {
          username: 'pc.jones',
          password: other.initialPassword,
          totp: totpCode(other.totpSecret, at(now).getTime()),
          ip: nat,
          now: at(now),
        })
      ).ok,
      'another officer behind the same address is not blocked',
    );
  });

  t.test(`${engine}: after repeated failures the account checks the code before the password`, async (t) => {
    const { db, good } = await setup(t, engine);
    for (let i = 0; i < DEFAULT_SIGN_IN_POLICY.guardAfterFailures; i++) {
      await signIn(db, { ...good(at(i)), password: 'wrong', ip: `198.51.100.${i}` });
    }
    t.same(
      await signIn(db, { ...good(at(100)), totp: '000000', ip: '198.51.100.200' }),
      { ok: false, reason: 'invalid' },
      'the right password without a valid code is not even checked',
    );
    const reasons = await db.query<{ detail: { reason?: string } }>(
      "SELECT detail FROM audit_log WHERE action = 'signin.failed' ORDER BY id DESC LIMIT 1",
    );
    t.equal(reasons[0]?.detail.reason, 'totp (code required first)');
    t.ok((await signIn(db, good(at(200), '198.51.100.201'))).ok, 'password + code get in');
  });
}
