import t from 'tap';
import { hashPassword, newInitialPassword, verifyPassword } from './passwords.js';

t.test('scrypt hashes verify the right password only, with a salt per hash', async (t) => {
  const hash = await hashPassword('correct horse');
  t.match(hash, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/, 'self-describing');
  t.ok(await verifyPassword('correct horse', hash));
  t.notOk(await verifyPassword('correct horse ', hash));
  t.notOk(await verifyPassword('', hash));
  t.not(await hashPassword('correct horse'), hash, 'fresh salt each time');
});

t.test('stored strings that are not ours never verify', async (t) => {
  const hash = await hashPassword('pw');
  for (const bad of [
    '',
    'pw',
    'bcrypt$1$2$3$4$5',
    hash.replace('$15$', '$30$'),
    hash.slice(0, -4),
    `${hash}$x`,
  ]) {
    t.notOk(await verifyPassword('pw', bad), JSON.stringify(bad.slice(0, 30)));
  }
});

t.test('initial passwords are long and random', async (t) => {
  const a = newInitialPassword();
  t.match(a, /^[A-Za-z0-9_-]{20}$/);
  t.not(newInitialPassword(), a);
});
