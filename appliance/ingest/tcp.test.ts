/**
 * The TCP listener's backpressure: while the consumer is congested the connection stops reading
 * (the sender's data waits in TCP buffers, nothing is dropped), and resumes when it clears; a pause
 * is not mistaken for an idle sender.
 */
import net from 'node:net';
import t from 'tap';
import { startTcpListener } from './tcp.js';
import type { IngestBackpressure } from './types.js';

class FakeBackpressure implements IngestBackpressure {
  congested = false;
  private readonly waiting: (() => void)[] = [];
  whenRelieved(callback: () => void): void {
    if (!this.congested) callback();
    else this.waiting.push(callback);
  }
  relieve(): void {
    this.congested = false;
    for (const callback of this.waiting.splice(0)) callback();
  }
  get waiters(): number {
    return this.waiting.length;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

t.test('a congested consumer pauses the connection until relieved; nothing lost', async (t) => {
  const backpressure = new FakeBackpressure();
  const received: string[] = [];
  const listener = await startTcpListener({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: 1024,
    maxConnections: 4,
    idleTimeoutMs: 100,
    onMessage: (frame) => received.push(frame.toString('utf8')),
    backpressure,
  });
  t.teardown(() => listener.close());
  const socket = net.connect(listener.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  t.teardown(() => socket.destroy());

  backpressure.congested = true;
  socket.write('<13>one\n');
  await until(() => received.length === 1, 'the first message');
  t.equal(backpressure.waiters, 1, 'the connection paused and waits for relief');

  socket.write('<13>two\n<13>three\n');
  await sleep(300); // three idle timeouts
  t.same(received, ['<13>one'], 'not read while paused');
  t.equal(listener.counters.idleClosed, 0, 'a paused connection is not closed as idle');
  t.equal(socket.destroyed, false);

  backpressure.relieve();
  await until(() => received.length === 3, 'the rest after relief');
  t.same(received, ['<13>one', '<13>two', '<13>three']);
});
