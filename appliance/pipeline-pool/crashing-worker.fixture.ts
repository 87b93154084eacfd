/**
 * Test fixture: the real parse worker, whose thread stops answering after it has handled a batch
 * holding `CRASH-THE-WORKER` (a stand-in for a parser bug or an out-of-memory). It closes its port
 * rather than throwing or calling process.exit: the test runner's hooks, which workers inherit,
 * intercept those. Whether the thread then ends or hangs, the pool must count what it held.
 */
import { parentPort } from 'node:worker_threads';
import './worker.js'; // first: its listener must be attached before messages are delivered

parentPort?.on('message', (message: { type: string; bytes?: Uint8Array }) => {
  if (message.type === 'batch' && Buffer.from(message.bytes!).includes('CRASH-THE-WORKER')) {
    parentPort?.close();
  }
});
