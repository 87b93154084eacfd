import t from 'tap';
import { newTotpSecret, totpCode, totpStep, totpUri } from './totp.js';

const secret = newTotpSecret();
const now = Date.UTC(2025, 2, 1, 12, 0, 15);
const step = Math.floor(now / 30_000);

t.test('a code is accepted one step either side of now, not two', async (t) => {
  t.equal(totpStep(secret, totpCode(secret, now), now), step);
  t.equal(totpStep(secret, totpCode(secret, now - 30_000), now), step - 1);
  t.equal(totpStep(secret, totpCode(secret, now + 30_000), now), step + 1);
  t.equal(totpStep(secret, totpCode(secret, now - 60_000), now), undefined);
  t.equal(totpStep(secret, totpCode(secret, now + 60_000), now), undefined);
  t.equal(totpStep(newTotpSecret(), totpCode(secret, now), now), undefined, 'another secret');
  t.equal(totpStep(secret, '12345', now), undefined);
  t.equal(totpStep(secret, 'abcdef', now), undefined);
});

t.test('the otpauth URI names the issuer and the account', async (t) => {
  const uri = totpUri(secret, 'pc.smith');
  t.match(uri, /^otpauth:\/\/totp\/CyberAlarm:pc\.smith\?/);
  t.match(uri, new RegExp(`secret=${secret}`));
});
