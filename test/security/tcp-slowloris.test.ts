/**
 * Slowloris on syslog over TCP: connections that trickle bytes and never finish a frame must not
 * hold the listener's slots. Real sockets on loopback; time is a fake clock and deadlines are
 * checked by calling `checkDeadlines()`, so nothing here depends on how fast the machine is.
 */
import net from 'node:net';
import t, { type Test } from 'tap';
import { startTcpListener, type TcpListener } from '../../appliance/ingest/tcp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for socket events to be processed; bounded in steps, asserting on state, not on time. */
async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 500 && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`never happened: ${what}`);
}

async function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function closed(s: net.Socket): boolean {
  return s.destroyed || s.readableEnded;
}

async function setup(t: Test, maxConnections: number, extra: { minFrameBytesPerS?: number } = {}) {
  let now = 1_000_000;
  const received: string[] = [];
  const listener: TcpListener = await startTcpListener({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: 1024,
    maxConnections,
    idleTimeoutMs: 300_000,
    frameTimeoutMs: 10_000,
    deadlineCheckMs: 3_600_000, // the test runs the checks itself
    now: () => now,
    onMessage: (frame) => received.push(frame.toString('utf8')),
    ...extra,
  });
  const sockets: net.Socket[] = [];
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await listener.close();
  });
  const open = async () => {
    const s = await connect(listener.port);
    s.on('error', () => undefined);
    s.on('end', () => s.destroy());
    sockets.push(s);
    return s;
  };
  return { listener, received, open, advance: (ms: number) => (now += ms) };
}

t.test('a full listener of tricklers: a real sender evicts one of them and is heard', async (t) => {
  const { listener, received, open } = await setup(t, 8);
  const tricklers: net.Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await open();
    s.write('<'); // one byte, never a whole frame
    tricklers.push(s);
    await until(() => listener.counters.bytes === i + 1, `trickler ${i} admitted`);
  }
  const sender = await open();
  sender.write('<13>firewall line one\n<13>firewall line two\n');
  await until(() => received.length === 2, 'the real sender to be heard');
  t.same(received, ['<13>firewall line one', '<13>firewall line two']);
  t.equal(listener.counters.evicted, 1, 'one trickler made room');
  t.equal(listener.counters.refused, 0, 'the newcomer was not refused');
  await until(() => tricklers.filter(closed).length === 1, 'the evicted trickler to see its close');
  t.equal(closed(tricklers[0]!), true, 'the oldest of those that delivered least went first');
});

t.test('a sender that has delivered messages outlives tricklers that send more bytes', async (t) => {
  const { listener, received, open } = await setup(t, 4);
  const sender = await open();
  sender.write('<13>a\n<13>b\n');
  await until(() => received.length === 2, 'the sender');
  const tricklers: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await open();
    s.write('<13>this frame never ends and is longer than the real messages');
    tricklers.push(s);
  }
  await until(() => listener.counters.connections === 4 && listener.counters.open === 4, 'all admitted');
  for (let i = 0; i < 3; i++) {
    const newcomer = await open();
    newcomer.write('<13>x');
    tricklers.push(newcomer);
    await until(() => listener.counters.evicted === i + 1, `eviction ${i + 1}`);
  }
  await sleep(20);
  t.equal(closed(sender), false, 'the sender that delivered messages keeps its connection');
  sender.write('<13>c\n');
  await until(() => received.length === 3, 'the sender is still heard');
});

t.test('a frame must finish within frameTimeoutMs however often bytes trickle in', async (t) => {
  const { listener, received, open, advance } = await setup(t, 16, { minFrameBytesPerS: 0 });
  const quiet = await open(); // finished its frames long ago, then idle: not a slow frame
  quiet.write('<13>done\n');
  const octet = await open(); // octet counting, ends exactly on a frame boundary
  octet.write('9 <13>hello5 <13>');
  octet.write('x');
  const trickler = await open();
  const octetTrickler = await open();
  octetTrickler.write('100 <13>partial');
  await until(() => received.length === 3 && listener.counters.open === 4, 'the first frames');
  let seconds = 0;
  for (; seconds < 20 && listener.counters.slowClosed === 0; seconds++) {
    trickler.write('a'); // each byte would reset an idle timer
    await until(() => listener.counters.bytes === 9 + 18 + 15 + seconds + 1, `byte ${seconds}`);
    advance(1_000);
    listener.checkDeadlines();
  }
  t.equal(seconds, 10, 'cut at the frame deadline (10 s of a trickled frame), not at the idle timeout');
  await until(() => closed(trickler) && closed(octetTrickler), 'the tricklers to be closed');
  t.equal(listener.counters.slowClosed, 2);
  t.equal(listener.counters.idleClosed, 0);
  t.equal(closed(quiet), false, 'an idle sender between frames is not cut');
  t.equal(closed(octet), false, 'an octet-counting sender between frames is not cut');
  t.same(received, ['<13>done', '<13>hello', '<13>x']);
});

t.test('a frame arriving slower than minFrameBytesPerS is cut before the frame deadline', async (t) => {
  const { listener, open, advance } = await setup(t, 16, { minFrameBytesPerS: 16 });
  const slow = await open();
  slow.write('<13>ab');
  const fast = await open();
  const line = `<13>${'a long line, written at once '.repeat(4)}`;
  fast.write(line);
  await until(() => listener.counters.bytes === 6 + line.length, 'both partial frames');
  advance(1_000);
  listener.checkDeadlines();
  t.equal(listener.counters.slowClosed, 0, 'one second of grace');
  advance(1_000);
  listener.checkDeadlines();
  await until(() => closed(slow), 'the slow frame to be cut');
  t.equal(listener.counters.slowClosed, 1, '6 bytes in 2 s is under 16 bytes/s');
  t.equal(closed(fast), false, '120 bytes in 2 s is not');
});
