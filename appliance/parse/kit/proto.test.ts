import t from 'tap';
import { normaliseProto } from './proto.js';

t.test('normaliseProto shortcut agrees with the general path', async (t) => {
  // A leading space misses the shortcut; the general path trims it.
  for (const v of ['6', '17', '1', 'tcp', 'TCP', 'udp', 'UDP', 'icmp', 'ICMP', 'Tcp', 'TCP/443', '06', '58'])
    t.equal(normaliseProto(v), normaliseProto(` ${v}`), v);
  t.equal(normaliseProto('6'), 'tcp');
  t.equal(normaliseProto('UDP'), 'udp');
  t.equal(normaliseProto('1'), 'icmp');
});
