import dgram from 'node:dgram';
import net from 'node:net';
import t from 'tap';
import { parseTarget, replay } from './replay.js';

t.test('targets', async (t) => {
  t.same(parseTarget('udp://127.0.0.1:514'), { transport: 'udp', host: '127.0.0.1', port: 514 });
  t.same(parseTarget('tcp://[::1]:6514'), { transport: 'tcp', host: '::1', port: 6514 });
  t.throws(() => parseTarget('http://x:1'), /udp:\/\/HOST:PORT/);
  t.throws(() => parseTarget('udp://x:0'));
  t.throws(() => parseTarget('udp://x:99999'));
});

t.test('sends every line over TCP (newline and octet framing) and UDP, at the requested rate', async (t) => {
  const received: string[] = [];
  const server = net.createServer((s) => s.on('data', (d) => received.push(d.toString())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const lines = ['a', 'bb', 'ccc'];
  const r1 = await replay(lines, { to: `tcp://127.0.0.1:${port}`, rate: 0, count: 6 });
  t.equal(r1.sent, 6);
  const r2 = await replay(lines, { to: `tcp://127.0.0.1:${port}`, rate: 0, framing: 'octet' });
  t.equal(r2.sent, 3);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(received.join(''), 'a\nbb\nccc\na\nbb\nccc\n1 a2 bb3 ccc');

  const udp = dgram.createSocket('udp4');
  const datagrams: string[] = [];
  udp.on('message', (m) => datagrams.push(m.toString()));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());
  const started = Date.now();
  const r3 = await replay(lines, { to: `udp://127.0.0.1:${udp.address().port}`, rate: 20, count: 10 });
  t.equal(r3.sent, 10);
  t.ok(Date.now() - started >= 400, 'rate limited: 10 lines at 20/s take about half a second');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(datagrams.length, 10);
});

t.test('TCP batches keep every frame, the byte count and progress exact while cycling', async (t) => {
  const chunks: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (d) => chunks.push(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  // Multi-byte UTF-8 (octet counts are bytes, RFC 6587 §3.4.1) and enough lines for many batches.
  const lines = ['é', 'x'.repeat(300), 'plain line', '€uro'];
  for (const framing of ['newline', 'octet'] as const) {
    chunks.length = 0;
    const progress: number[] = [];
    const count = 2_500;
    const r = await replay(lines, {
      to: `tcp://127.0.0.1:${port}`,
      rate: 0,
      count,
      framing,
      onProgress: (sent) => progress.push(sent),
    });
    let expected = '';
    for (let i = 0; i < count; i++) {
      const line = lines[i % lines.length]!;
      expected += framing === 'octet' ? `${Buffer.byteLength(line)} ${line}` : `${line}\n`;
    }
    await new Promise((r) => setTimeout(r, 100));
    const received = Buffer.concat(chunks);
    t.equal(r.sent, count, framing);
    t.equal(r.bytes, Buffer.byteLength(expected), `${framing}: bytes counts what went on the wire`);
    t.equal(received.length, r.bytes);
    t.ok(received.toString('utf8') === expected, `${framing}: every frame arrived in order`);
    t.same(progress, [1000, 2000], `${framing}: progress at each thousand`);
  }
});

t.test('an unreachable TCP target is an error, not a hang', async (t) => {
  await t.rejects(replay(['x'], { to: 'tcp://127.0.0.1:1', rate: 0 }));
  await t.rejects(replay([], { to: 'tcp://127.0.0.1:1', rate: 0 }), /nothing to replay/);
});

t.test('a receiver that dies mid-stream ends the replay with an error, not a hang', async (t) => {
  const server = net.createServer((socket) => {
    socket.pause(); // never read: the sender's buffer fills and it waits for 'drain'
    setTimeout(() => socket.destroy(), 200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const line = 'x'.repeat(1000);
  const started = Date.now();
  await t.rejects(replay([line], { to: `tcp://127.0.0.1:${port}`, rate: 0, count: 1_000_000 }));
  t.ok(Date.now() - started < 10_000, 'it gave up promptly');
});
