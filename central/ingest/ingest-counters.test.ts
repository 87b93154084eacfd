import t from 'tap';
import { BadBatchTracker } from './flag-device.js';
import { LagWindow, ThroughputWindow } from './ingest-counters.js';

t.test('ThroughputWindow averages completed seconds of the last minute', async (t) => {
  const w = new ThroughputWindow(60);
  w.record(600, 1_000);
  w.record(600, 1_500);
  w.record(999, 60_200); // the current second: not counted yet
  t.equal(w.perSecond(60_300), 20);
  t.equal(w.perSecond(200_000), 0, 'old seconds fall out');
});

t.test('LagWindow quantiles over recent samples only', async (t) => {
  const w = new LagWindow(8, 1000);
  t.equal(w.quantiles([0.5], 0), undefined);
  for (let i = 1; i <= 10; i++) w.record(i * 10, 5000); // ring keeps the last 8: 30..100
  t.same(w.quantiles([0.5, 0.99, 1], 5500), [60, 100, 100]);
  t.equal(w.quantiles([0.5], 7000), undefined, 'samples older than the window are ignored');
});

t.test('BadBatchTracker flags at the threshold within the window, once', async (t) => {
  const tr = new BadBatchTracker({ threshold: 3, windowMs: 1000, maxDevices: 2 });
  t.equal(tr.record('a', 0), false);
  t.equal(tr.record('a', 100), false);
  t.equal(tr.record('a', 2000), false, 'window expired: counting restarts');
  t.equal(tr.record('a', 2100), false);
  t.equal(tr.record('a', 2200), true, 'third in the window');
  tr.markFlagged('a');
  t.equal(tr.record('a', 2300), false, 'already flagged by this process');
  tr.record('b', 0);
  tr.record('c', 0);
  tr.record('d', 0);
  t.ok(tr.trackedDevices <= 2, 'bounded');
});
