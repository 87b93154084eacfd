import t from 'tap';
import { DrainLimiter } from './drain-limiter.js';

t.test('drains at the rate, a batch may overdraw and its debt delays the next', async (t) => {
  const limiter = new DrainLimiter(1000, 0);
  t.equal(limiter.waitMs(0), 0, 'a full bucket lets the first batch go');
  limiter.spend(3000); // a batch of three seconds' worth
  t.equal(limiter.waitMs(0), 2001, 'two seconds of debt, then the next');
  t.equal(limiter.waitMs(1000), 1001, 'a second later, one to go');
  t.equal(limiter.waitMs(2001), 0);
});

t.test('at most one second saved up', async (t) => {
  const limiter = new DrainLimiter(1000, 0);
  t.equal(limiter.waitMs(3_600_000), 0);
  limiter.spend(1000);
  t.ok(limiter.waitMs(3_600_000) > 0, 'an hour idle saves one second, not an hour');
});

t.test('a clock that goes backwards refills nothing and never freezes the bucket', async (t) => {
  const limiter = new DrainLimiter(1000, 10_000);
  limiter.spend(1500);
  t.equal(limiter.waitMs(5_000), 501, 'half a second owed, whatever the clock said');
  t.equal(limiter.waitMs(5_501), 0, 'and paid off from the new reading on');
});
