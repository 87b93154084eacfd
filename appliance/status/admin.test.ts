import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ADMIN_FILE, AdminAuth, SESSION_TTL_MS } from './admin.js';

const root = mkdtempSync(join(tmpdir(), 'ca-admin-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => mkdtempSync(join(root, `a${n++}-`));

t.test('the password is set once, stored as an scrypt hash (0600), and signs in', async (t) => {
  const dir = newDir();
  const auth = new AdminAuth(dir);
  t.notOk(auth.isSet());
  t.match(await auth.signIn('anything at all'), { ok: false, reason: 'unset' });
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
  t.match(await reopened.signIn('wrong password'), { ok: false, reason: 'wrong' });
  const ok = await reopened.signIn('correct horse battery');
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

t.test('sessions expire; guessing is throttled', async (t) => {
  let now = 1_000_000;
  const auth = new AdminAuth(newDir(), () => now);
  const set = await auth.setInitialPassword('correct horse battery');
  if (!set.ok) throw new Error('not set');
  now += SESSION_TTL_MS + 1;
  t.notOk(auth.isValidSession(set.token), 'expired');
  for (let i = 0; i < 10; i++) t.match(await auth.signIn(`guess ${i}`), { reason: 'wrong' });
  t.match(
    await auth.signIn('correct horse battery'),
    { ok: false, reason: 'throttled' },
    'even the right one',
  );
  now += 10 * 60_000 + 1;
  t.ok((await auth.signIn('correct horse battery')).ok, 'the window passes');
});

t.test('a damaged admin file does not reopen first-visit setup', async (t) => {
  const dir = newDir();
  writeFileSync(join(dir, ADMIN_FILE), '{"algorithm":"none"}');
  t.throws(() => new AdminAuth(dir), /not a valid admin password file/);
});
