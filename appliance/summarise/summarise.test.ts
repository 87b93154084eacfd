import { TypeCompiler } from '@sinclair/typebox/compiler';
import t from 'tap';
import { type ConnectionEvent, ConnectionEventSchema } from '../../protocol/event.js';
import { FlowSummariser, type SummaryRecord, summaryWireEvent } from './summarise.js';

const eventChecker = TypeCompiler.Compile(ConnectionEventSchema);

const attempt = (i: number, over: Partial<ConnectionEvent> = {}): ConnectionEvent => ({
  ts: `2026-03-10T13:22:${String(i % 60).padStart(2, '0')}Z`,
  vendor: 'netfilter',
  src_ip: '198.51.100.7',
  src_port: 40000 + i,
  dst_ip: 'p:abcdefghijkl',
  dst_port: 22,
  proto: 'tcp',
  action: 'deny',
  direction: 'in',
  interface: 'p:ifaceifaceif',
  bytes: 60,
  packets: 1,
  ...over,
});

const sumCounts = (records: readonly SummaryRecord[]) =>
  records.reduce((n, r) => n + (r.event.count ?? 1), 0);

t.test('repeated events collapse into one counted record per key and window', async (t) => {
  const s = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 1000 });
  const t0 = 1_800_000_000_000; // a multiple of 60 s
  for (let i = 0; i < 100; i++) s.add(attempt(i), t0 + i * 100);
  s.add(attempt(100, { dst_port: 23 }), t0 + 200);
  s.add(attempt(101, { action: 'allow' }), t0 + 300);
  t.equal(s.counters.heldEvents, 102);
  t.same(s.flushDue(t0 + 59_999), [], 'nothing before the window ends');
  const records = s.flushDue(t0 + 60_000);
  t.equal(records.length, 3, 'one per (src, dst, dst port, proto, action, direction)');
  const ssh = records.find((r) => r.event.dst_port === 22 && r.event.action === 'deny')!;
  t.same(ssh.event, {
    ts: '2026-03-10T13:22:00Z',
    vendor: 'netfilter',
    src_ip: '198.51.100.7',
    dst_ip: 'p:abcdefghijkl',
    dst_port: 22,
    proto: 'tcp',
    action: 'deny',
    bytes: 6000,
    packets: 100,
    interface: 'p:ifaceifaceif',
    direction: 'in',
    count: 100,
  });
  t.equal(ssh.lastSeen, '2026-03-10T13:22:39Z', 'last seen: the last event (arrival order)');
  t.ok(Math.abs(ssh.srcPorts - 100) <= 3, `100 source ports, estimated past the exact cap: ${ssh.srcPorts}`);
  t.equal(ssh.srcPortsExact, false);
  t.equal(ssh.windowStartMs, t0);
  const single = records.find((r) => r.event.dst_port === 23)!;
  t.equal(single.event.count, undefined, 'a record of one event carries no count');
  t.equal(single.event.src_port, 40100, 'and keeps its source port');
  t.equal(sumCounts(records), 102, 'every raw event represented once');
  t.equal(s.counters.heldEvents, 0);
  t.same(s.counters, {
    eventsIn: 102,
    eventsOut: 102,
    heldEvents: 0,
    recordsOut: 3,
    windowsClosed: 1,
    earlyCloses: 0,
  });
  for (const r of records) t.ok(eventChecker.Check(r.event), 'each record is a valid wire event today');
});

t.test('fields outside the key survive only when every event agreed', async (t) => {
  const s = new FlowSummariser({ windowMs: 1000, maxOpenKeys: 10 });
  s.add(
    attempt(1, { src_port: 5000, rule: 'p:rule1rule1ru', severity: 'high', src_nat_ip: '203.0.113.1' }),
    0,
  );
  s.add(
    attempt(2, { src_port: 5000, rule: 'p:rule2rule2ru', severity: 'high', src_nat_ip: '203.0.113.1' }),
    1,
  );
  s.add(attempt(3, { src_port: 5000, severity: 'high', src_nat_ip: '203.0.113.1', bytes: undefined }), 2);
  const [r] = s.flushAll();
  t.equal(r!.event.src_port, 5000, 'one source port throughout');
  t.equal(r!.srcPorts, 1);
  t.ok(r!.srcPortsExact);
  t.equal(r!.event.rule, undefined, 'rules differed');
  t.equal(r!.event.severity, 'high');
  t.equal(r!.event.src_nat_ip, '203.0.113.1');
  t.equal(r!.event.bytes, 120, 'bytes summed over the events that had them');
  t.equal(r!.event.count, 3);
});

t.test('events that are already summaries add their count; absent key fields are a key too', async (t) => {
  const s = new FlowSummariser({ windowMs: 1000, maxOpenKeys: 10 });
  s.add({ vendor: 'cef', action: 'deny', count: 7 }, 0);
  s.add({ vendor: 'cef', action: 'deny' }, 0);
  s.add({ vendor: 'cef', action: 'deny', src_ip: '' }, 0);
  const records = s.flushAll();
  t.equal(records.length, 2, 'absent and empty are different keys');
  t.equal(sumCounts(records), 9);
  t.equal(records[0]!.event.ts, undefined);
  t.equal(records[0]!.lastSeen, undefined);
  t.equal(records[0]!.srcPorts, 0);
});

t.test('windows follow the appliance clock, aligned; time moving on closes the old window', async (t) => {
  const s = new FlowSummariser({ windowMs: 10_000, maxOpenKeys: 100 });
  t.notOk(s.add(attempt(1), 25_000), 'window [20 s, 30 s)');
  t.notOk(s.add(attempt(2), 29_999));
  t.ok(s.add(attempt(3), 30_000), 'the first event of the next window closes the old one');
  const first = s.flushDue(30_000);
  t.equal(first.length, 1);
  t.equal(first[0]!.event.count, 2);
  t.equal(first[0]!.windowStartMs, 20_000);
  t.equal(s.counters.heldEvents, 1);
  t.same(s.flushDue(39_999), []);
  const second = s.flushDue(40_000);
  t.equal(second.length, 1);
  t.equal(second[0]!.windowStartMs, 30_000);
  t.same(s.flushDue(1_000_000), [], 'nothing open, nothing due');
  s.add(attempt(4), 5_000); // the clock stepped back: a new window at the new time
  t.equal(s.flushDue(10_000)[0]?.windowStartMs, 0);
  t.equal(s.counters.windowsClosed, 3);
});

t.test('a wall clock stepped back closes the open window at once, not after the step', async (t) => {
  const hour = 3_600_000;
  const s = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 100 });
  s.add(attempt(1), 10 * hour + 30_000);
  s.add(attempt(2), 10 * hour + 31_000);
  // Stepped back an hour: before, nothing came out until the clock was past 10:01 again.
  const stepped = s.flushDue(9 * hour + 32_000);
  t.equal(sumCounts(stepped), 2, 'the held events come out on the next tick');
  t.equal(stepped[0]!.windowStartMs, 10 * hour, 'labelled with the window they were seen in');
  t.equal(s.counters.heldEvents, 0);
  s.add(attempt(3), 9 * hour + 33_000);
  t.same(s.flushDue(9 * hour + 59_999), [], 'the new window runs its course on the new time');
  t.equal(s.flushDue(9 * hour + 60_000)[0]?.windowStartMs, 9 * hour);
  // Stepped forward: the open window has ended, as before.
  s.add(attempt(4), 9 * hour + 61_000);
  t.equal(sumCounts(s.flushDue(11 * hour)), 1);
});

t.test('too many keys closes the window early, counted; memory stays bounded', async (t) => {
  const s = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 100 });
  let ready = 0;
  for (let port = 1; port <= 250; port++) {
    if (s.add(attempt(port, { dst_port: port }), 1000)) ready++;
    t.ok(s.openKeys <= 100);
  }
  t.equal(s.counters.earlyCloses, 2);
  t.ok(ready > 0, 'add reports records waiting');
  const early = s.flushDue(1000);
  t.equal(early.length, 200, 'two full windows of 100 keys');
  t.equal(s.openKeys, 50);
  const rest = s.flushAll();
  t.equal(rest.length, 50);
  t.equal(sumCounts([...early, ...rest]), 250);
  t.equal(s.counters.heldEvents, 0);
});

t.test('flushAll takes everything, open windows included, and only once', async (t) => {
  const s = new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 100 });
  for (let i = 0; i < 10; i++) s.add(attempt(i, { src_ip: `198.51.100.${i % 3}` }), 1000 + i);
  const all = s.flushAll();
  t.equal(all.length, 3);
  t.equal(sumCounts(all), 10);
  t.same(s.flushAll(), []);
  t.same(s.flushDue(Number.MAX_SAFE_INTEGER), []);
});

t.test('the wire form adds last_seen and src_ports, and is a valid event', async (t) => {
  const s = new FlowSummariser({ windowMs: 1000, maxOpenKeys: 10 });
  for (let i = 0; i < 5; i++) s.add(attempt(i), 0);
  const [r] = s.flushAll();
  const extended = summaryWireEvent(r!);
  t.equal(extended.last_seen, '2026-03-10T13:22:04Z');
  t.equal(extended.src_ports, 5);
  t.equal(extended.count, 5);
  t.ok(eventChecker.Check(extended));
});

t.test('constructor refuses nonsense options', async (t) => {
  t.throws(() => new FlowSummariser({ windowMs: 0, maxOpenKeys: 1 }), RangeError);
  t.throws(() => new FlowSummariser({ windowMs: 1000, maxOpenKeys: 0 }), RangeError);
});
