import t from 'tap';
import { DistinctPorts, EXACT_PORTS } from './distinct-ports.js';

t.test('exact up to the cap, duplicates ignored', async (t) => {
  const d = new DistinctPorts();
  t.equal(d.count(), 0);
  for (let i = 0; i < 3; i++) d.add(40000);
  t.equal(d.count(), 1);
  for (let p = 1; p <= EXACT_PORTS; p++) d.add(p);
  for (let p = 1; p <= EXACT_PORTS; p++) d.add(p);
  t.notOk(d.exactCountKnown, `${EXACT_PORTS + 1} ports: past the exact cap`);
  t.ok(Math.abs(d.count() - (EXACT_PORTS + 1)) <= 2, `estimate ${d.count()}`);
  const e = new DistinctPorts();
  for (let p = 0; p < EXACT_PORTS; p++) e.add(1024 + p);
  t.equal(e.count(), EXACT_PORTS);
  t.ok(e.exactCountKnown);
  e.add(1024);
  t.equal(e.count(), EXACT_PORTS, 'a repeat at the cap stays exact');
});

t.test('estimates above the cap within a few percent, sequential or random ports', async (t) => {
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 16;
  };
  for (const n of [65, 100, 500, 1000, 5000, 16000]) {
    const sequential = new DistinctPorts();
    for (let p = 0; p < n; p++) sequential.add(32768 + p);
    const scattered = new DistinctPorts();
    const ports = new Set<number>();
    while (ports.size < n) ports.add(random());
    for (const p of ports) {
      scattered.add(p);
      scattered.add(p); // repeats change nothing
    }
    for (const [name, d] of [
      ['sequential', sequential],
      ['random', scattered],
    ] as const) {
      t.notOk(d.exactCountKnown);
      const error = Math.abs(d.count() - n) / n;
      t.ok(error < 0.06, `${name} ${n}: estimate ${d.count()} (${(error * 100).toFixed(1)} %)`);
    }
  }
  const all = new DistinctPorts();
  for (let p = 0; p < 65536; p++) all.add(p);
  t.ok(all.count() > 30000 && all.count() <= 65536, `a full sweep saturates near 34,000: ${all.count()}`);
});
