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

t.test('the agent gives it a monotonic clock: a wall clock stepped either way changes nothing', async (t) => {
  // What the uplink does (uplink.ts): DrainLimiter over performance.now(). Before, it read Date.now(),
  // and a wall clock stepped back an hour held the backlog for an hour.
  const realNow = Date.now;
  t.teardown(() => {
    Date.now = realNow;
  });
  const { performance } = await import('node:perf_hooks');
  const limiter = new DrainLimiter(1000, performance.now());
  limiter.spend(1000); // spent exactly the saved second
  for (const stepMs of [-3_600_000, +3_600_000]) {
    const base = realNow();
    Date.now = () => base + stepMs;
    const wait = limiter.waitMs(performance.now());
    t.ok(wait <= 1001, `clock stepped ${stepMs / 1000} s: waits at most the second it owes (${wait} ms)`);
    limiter.spend(0);
  }
});
