import t from 'tap';
import { AddressLimiter } from './address-limiter.js';

t.test('allows the limit per window, refuses the rest, and starts again with the next window', async (t) => {
  let now = 0;
  const limiter = new AddressLimiter(3, 1000, 10, () => now);
  t.same(
    [1, 2, 3, 4, 5].map(() => limiter.allow('a')),
    [true, true, true, false, false],
  );
  t.ok(limiter.allow('b'), 'other addresses are counted apart');
  now = 1000;
  t.ok(limiter.allow('a'), 'a new window');
});

t.test('memory stays bounded: the oldest address is forgotten first', async (t) => {
  const limiter = new AddressLimiter(1, 60_000, 2, () => 0);
  t.ok(limiter.allow('a'));
  t.notOk(limiter.allow('a'));
  t.ok(limiter.allow('b'));
  t.ok(limiter.allow('c'), 'c evicts a');
  t.ok(limiter.allow('a'), 'a starts a fresh window after being forgotten');
});
