import t from 'tap';
import type { ConnectionEvent } from '../../../protocol/event.js';
import { DetectEventPacker, unpackDetectEvents } from './detect-transfer.js';

t.test('packed and unpacked: the fields detection reads, in order, nothing invented', async (t) => {
  const events: ConnectionEvent[] = [
    {
      ts: '2026-12-07T10:00:00Z',
      vendor: 'netfilter',
      src_ip: '203.0.113.9',
      dst_ip: 'p:abcdefghijkl',
      src_port: 40000,
      dst_port: 22,
      proto: 'tcp',
      action: 'deny',
      rule: 'not read by detection',
    },
    {
      vendor: 'pfsense',
      action: 'allow',
      src_ip: 'p:abcdefghijkl',
      dst_ip: '198.51.100.1',
      dst_nat_ip: '10.0.0.1',
    },
    {
      ts: '2026-12-07T10:00:00Z',
      vendor: 'netfilter',
      action: 'deny',
      count: 300,
      last_seen: '2026-12-07T10:00:59Z',
      dst_port: 0,
    },
  ];
  const packer = new DetectEventPacker();
  for (let round = 0; round < 200; round++) for (const e of events) packer.add(e);
  t.equal(packer.size, 600);
  const packed = packer.take()!;
  t.ok(packed.strings.length <= 11, `strings are shared, not repeated (${packed.strings.length})`);
  const back: ConnectionEvent[] = [];
  // A copy of each, without the fields it lacks (the unpacker reuses one object).
  unpackDetectEvents(packed, (e) =>
    back.push(Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as ConnectionEvent),
  );
  const { rule: _rule, ...first } = events[0]!;
  t.same(back.slice(0, 3), [first, events[1], events[2]]);
  t.equal(back.length, 600);
  t.equal(packer.take(), undefined, 'empty after take');
});
