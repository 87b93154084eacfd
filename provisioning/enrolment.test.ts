import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { isValidDeviceId } from '../protocol/topics.js';
import {
  deviceIdFromPublicKey,
  formatEnrolmentQr,
  newPairingCode,
  normalisePairingCode,
  parseEnrolmentQr,
  publicKeyFingerprint,
} from './enrolment.js';

const spki = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });

t.test('device id follows from the public key: stable, valid, never reserved', async (t) => {
  const key = spki();
  const id = deviceIdFromPublicKey(key);
  t.equal(id, deviceIdFromPublicKey(key), 'stable');
  t.match(id, /^ca-[a-z2-7]{20}$/);
  t.ok(isValidDeviceId(id));
  t.not(deviceIdFromPublicKey(spki()), id, 'another key, another id');
});

t.test('QR text round-trips and refuses what is not ours', async (t) => {
  const key = spki();
  const qr = {
    deviceId: deviceIdFromPublicKey(key),
    pairingCode: newPairingCode(),
    fingerprint: publicKeyFingerprint(key),
    centralUrl: 'https://central.example:8443',
  };
  const text = formatEnrolmentQr(qr);
  t.ok(text.length < 200, `short enough for a small QR code (${text.length})`);
  t.same(parseEnrolmentQr(text), qr);
  t.same(parseEnrolmentQr('https://evil.example'), { error: 'not a CyberAlarm enrolment code' });
  t.same(parseEnrolmentQr(text.replace('u=https', 'u=http')), { error: 'bad central URL' });
  t.same(parseEnrolmentQr(text.replace(/f=[^&]+/, 'f=AB')), { error: 'bad fingerprint' });
});

t.test('pairing codes: unambiguous alphabet, typed forms accepted', async (t) => {
  for (let i = 0; i < 200; i++) t.match(newPairingCode(), /^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
  t.equal(normalisePairingCode('abcd efgh'), 'ABCD-EFGH');
  t.equal(normalisePairingCode('ABCDEFGH'), 'ABCD-EFGH');
  t.equal(normalisePairingCode('ABCD-EFG0'), '', 'zero is not in the alphabet');
  t.equal(normalisePairingCode('ABC'), '');
  fc.assert(
    fc.property(fc.string(), (s) => {
      const n = normalisePairingCode(s);
      return n === '' || normalisePairingCode(n) === n;
    }),
  );
});
