import { createSocket } from 'node:dgram';
import t from 'tap';
import { dropsForPort, readUdpKernelDrops } from './udp-drops.js';

const TABLE = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000:15810 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0
  124: 0100007F:1582 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 11 2 0000000000000000 17
  125: 00000000:1582 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12 2 0000000000000000 3
  126: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 13 2 0000000000000000 99
`;

t.test('sums the drops of every socket on the port, and only that port', async (t) => {
  t.equal(dropsForPort(TABLE, 0x1582), 20);
  t.equal(dropsForPort(TABLE, 53), 99);
  t.equal(dropsForPort(TABLE, 0x1581), 0, 'a port that is a suffix of another is not matched');
  t.equal(dropsForPort('', 53), 0);
  t.equal(dropsForPort('header\ngarbage line', 53), 0);
});

t.test('reads a real socket on Linux', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  t.equal(readUdpKernelDrops(socket.address().port), 0, 'a fresh socket has dropped nothing');
});
