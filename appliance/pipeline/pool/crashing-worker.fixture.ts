/**
 * Test fixture: the real parse worker, failing on cue after it has handled a batch holding
 * - `CRASH-THE-WORKER`: it stops answering and closes its port (a stand-in for a parser bug). Not a
 *   throw or process.exit: the test runner's hooks, which workers inherit, intercept those. Whether
 *   the thread then ends or hangs, the pool must count what it held.
 * - `EXHAUST-THE-HEAP`: it allocates until it reaches its old-generation cap, and Node ends it.
 */
import { parentPort } from 'node:worker_threads';
import './worker.js'; // first: its listener must be attached before messages are delivered

parentPort?.on('message', (message: { type: string; bytes?: Uint8Array }) => {
  if (message.type !== 'batch') return;
  const bytes = Buffer.from(message.bytes!);
  if (bytes.includes('CRASH-THE-WORKER')) parentPort?.close();
  if (bytes.includes('EXHAUST-THE-HEAP')) {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(100_000).fill(hoard.length));
  }
});
