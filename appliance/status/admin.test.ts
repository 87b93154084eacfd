import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ADMIN_FILE, AdminAuth, SESSION_TTL_MS, type SignInEvent } from './admin.js';

const LAN = '192.168.1.20';

const root = mkdtempSync(join(tmpdir(), 'ca-admin-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => mkdtempSync(join(root, `a${n++}-`));

t.test('the password is set once, stored as an scrypt hash (0600), and signs in', async (t) => {
  const dir = newDir();
  const auth = new AdminAuth(dir);
  t.notOk(auth.isSet());
  t.match(await auth.signIn('anything at all', LAN), { ok: false, reason: 'unset' });
  t.match(await auth.setInitialPassword('short'), { ok: false, reason: /at least 10/ });
  const set = await auth.setInitialPassword('correct horse battery');
  t.ok(set.ok);
  t.ok(auth.isSet());
  t.match(await auth.setInitialPassword('another password!'), { ok: false, reason: /already set/ });
  const file = readFileSync(join(dir, ADMIN_FILE), 'utf8');
  t.notMatch(file, /correct horse/, 'no plain text on disk');
  t.match(JSON.parse(file), { algorithm: 'scrypt', N: Number, salt: String, hash: String });
  t.equal((statSync(join(dir, ADMIN_FILE)).mode & 0o777).toString(8), '600');

  const reopened = new AdminAuth(dir);
  t.ok(reopened.isSet(), 'survives a restart');
  t.match(await reopened.signIn('wrong password', LAN), { ok: false, reason: 'wrong' });
  const ok = await reopened.signIn('correct horse battery', LAN);
  t.ok(ok.ok);
  if (ok.ok) {
    t.ok(reopened.isValidSession(ok.token));
    t.notOk(auth.isValidSession(ok.token), 'sessions are per process');
    reopened.signOut(ok.token);
    t.notOk(reopened.isValidSession(ok.token), 'signed out');
  }
  t.notOk(reopened.isValidSession(undefined));
  t.notOk(reopened.isValidSession('made-up'));
});

t.test('sessions expire', async (t) => {
  let now = 1_000_000;
  const auth = new AdminAuth(newDir(), () => now);
  const set = await auth.setInitialPassword('correct horse battery');
  if (!set.ok) throw new Error('not set');
  now += SESSION_TTL_MS + 1;
  t.notOk(auth.isValidSession(set.token), 'expired');
});

t.test('a flood of wrong passwords from one address locks nobody else out', async (t) => {
  let now = 1_000_000;
  const events: SignInEvent[] = [];
  const auth = new AdminAuth(
    newDir(),
    () => now,
    (e) => events.push(e),
  );
  if (!(await auth.setInitialPassword('correct horse battery')).ok) throw new Error('not set');
  const attacker = '192.168.1.66';
  let evaluated = 0;
  for (let i = 0; i < 30; i++) {
    const r = await auth.signIn(`guess ${i}`, attacker);
    if (r.ok) throw new Error('a guess got in');
    if (r.reason === 'wrong') evaluated++;
    now += r.reason === 'throttled' ? r.retryAfterMs : 0;
  }
  t.ok(evaluated >= 10, 'more than the old box-wide limit of ten');
  await auth.signIn('one more guess', attacker);
  t.match(await auth.signIn('and another', attacker), { ok: false, reason: 'throttled' });
  t.ok((await auth.signIn('correct horse battery', LAN)).ok, 'the member on another LAN host signs in');
  t.ok((await auth.signIn('correct horse battery', '127.0.0.1')).ok, 'and on the box itself');
  for (let i = 0; i < 20; i++) t.match(await auth.signIn(`local ${i}`, '::1'), { reason: 'wrong' });
  t.ok((await auth.signIn('correct horse battery', '::1')).ok, 'the box itself is never throttled');
  t.ok(
    events.some((e) => e.event === 'signin.throttled' && e.client === attacker),
    'throttling is logged',
  );
  t.ok(
    events.some((e) => e.event === 'signin.succeeded' && e.client === LAN),
    'sign-ins are logged',
  );
});

t.test('the delay grows for the failing address, and the right password ends it', async (t) => {
  let now = 1_000_000;
  const auth = new AdminAuth(newDir(), () => now);
  if (!(await auth.setInitialPassword('correct horse battery')).ok) throw new Error('not set');
  const waits: number[] = [];
  while (waits.length < 5) {
    const r = await auth.signIn('wrong', LAN);
    if (r.ok) throw new Error('wrong password accepted');
    if (r.reason === 'throttled') {
      waits.push(r.retryAfterMs);
      now += r.retryAfterMs;
    }
  }
  t.same(waits, [2_000, 4_000, 8_000, 16_000, 32_000]);
  t.match(await auth.signIn('wrong', LAN), { reason: 'wrong' }, 'heard once the wait is over');
  t.match(await auth.signIn('correct horse battery', LAN), { reason: 'throttled' }, 'waits, even when right');
  now += 64_000;
  t.ok((await auth.signIn('correct horse battery', LAN)).ok, 'heard after the wait');
  t.match(await auth.signIn('wrong', LAN), { reason: 'wrong' }, 'and starts afresh');
});

t.test('a damaged admin file does not reopen first-visit setup', async (t) => {
  const dir = newDir();
  writeFileSync(join(dir, ADMIN_FILE), '{"algorithm":"none"}');
  t.throws(() => new AdminAuth(dir), /not a valid admin password file/);
});
