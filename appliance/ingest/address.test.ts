import t from 'tap';
import { canonicalSourceKey, sourceKey } from './address.js';

t.test('sourceKey unwraps IPv4-mapped IPv6 and keeps everything else', async (t) => {
  t.equal(sourceKey('::ffff:192.0.2.1'), '192.0.2.1');
  t.equal(sourceKey('192.0.2.1'), '192.0.2.1');
  t.equal(sourceKey('::1'), '::1');
  t.equal(sourceKey('2001:db8::ffff:1'), '2001:db8::ffff:1', 'not the mapped prefix');
  t.equal(sourceKey('::ffff:c000:201'), '::ffff:c000:201', 'hex form is not what Node reports; kept');
  t.equal(sourceKey(undefined), 'unknown');
  t.equal(sourceKey(''), 'unknown');
});

t.test('canonicalSourceKey gives the key the wire will show', async (t) => {
  t.equal(canonicalSourceKey(' 10.0.0.1 '), '10.0.0.1');
  t.equal(canonicalSourceKey('2001:DB8:0:0::1'), '2001:db8::1');
  t.equal(canonicalSourceKey('::FFFF:10.0.0.1'), '10.0.0.1');
  t.equal(canonicalSourceKey('0:0:0:0:0:0:0:1'), '::1');
  t.equal(canonicalSourceKey('firewall.local'), undefined);
  t.equal(canonicalSourceKey('10.0.0.256'), undefined);
});
