import fc from 'fast-check';
import t from 'tap';
import { TokenBucket } from './rate-limit.js';

function takeMany(bucket: TokenBucket, n: number, nowMs: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (bucket.take(nowMs)) ok++;
  return ok;
}

t.test('a full bucket allows a burst, then nothing until it refills', async (t) => {
  const bucket = new TokenBucket(100, 100, 0);
  t.equal(takeMany(bucket, 250, 0), 100, 'the burst');
  t.equal(takeMany(bucket, 10, 0), 0, 'empty');
  t.equal(takeMany(bucket, 10, 50), 5, '50 ms at 100/s refills 5 tokens');
  t.equal(takeMany(bucket, 1000, 10_050), 100, 'refill is capped at the burst');
});

t.test('fractional refills accumulate', async (t) => {
  const bucket = new TokenBucket(10, 1, 0);
  t.ok(bucket.take(0));
  let allowed = 0;
  for (let ms = 1; ms <= 1000; ms++) if (bucket.take(ms)) allowed++;
  t.equal(allowed, 10, 'one token every 100 ms, from 1 ms steps');
});

t.test('a clock that goes backwards neither refills nor freezes the bucket', async (t) => {
  const bucket = new TokenBucket(1000, 1, 10_000);
  t.ok(bucket.take(10_000));
  t.notOk(bucket.take(5_000), 'no refill from going back in time');
  t.ok(bucket.take(5_001), 'refills from the new time on, not from 10,000');
});

t.test('property: over any schedule, allowed ≤ burst + rate × elapsed', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 500 }),
      (rate, burst, steps) => {
        const bucket = new TokenBucket(rate, burst, 0);
        let now = 0;
        let allowed = 0;
        for (const step of steps) {
          now += step;
          if (bucket.take(now)) allowed++;
        }
        return allowed <= burst + (rate * now) / 1000 + 1e-9;
      },
    ),
  );
  t.pass('bounded');
});
