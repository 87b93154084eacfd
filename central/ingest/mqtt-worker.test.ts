import t from 'tap';
import { workerClientIds } from './mqtt-worker.js';

t.test("a worker's client ids can never be a device's", async (t) => {
  t.same(workerClientIds('central-ingest-host', 1), ['central-ingest-host']);
  t.same(
    workerClientIds('w1', 3),
    ['central-w1-0', 'central-w1-1', 'central-w1-2'],
    'prefixed when configured without',
  );
  t.ok(
    workerClientIds('dev-a', 4).every((id) => id.startsWith('central')),
    "a worker configured with a device's id still gets a name the CA never issues",
  );
});
