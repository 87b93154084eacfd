import t from 'tap';
import { backoffDelayMs } from './backoff.js';

t.test('grows exponentially up to the cap, jittered between min and the ceiling', async (t) => {
  t.equal(
    backoffDelayMs(0, 100, 10_000, () => 1),
    100,
  );
  t.equal(
    backoffDelayMs(3, 100, 10_000, () => 1),
    800,
  );
  t.equal(
    backoffDelayMs(20, 100, 10_000, () => 1),
    10_000,
  );
  t.equal(
    backoffDelayMs(20, 100, 10_000, () => 0),
    100,
  );
  t.equal(
    backoffDelayMs(1000, 100, 10_000, () => 0.5),
    5050,
    'no overflow for large attempts',
  );
});
