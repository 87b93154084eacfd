import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { sourceKey } from './address.js';
import type { ListenerCounters, MessageHandler } from './types.js';

export interface UdpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly receiveBufferBytes: number;
  readonly maxMessageBytes: number;
  readonly onMessage: MessageHandler;
}

export interface UdpListener {
  readonly port: number;
  readonly counters: ListenerCounters & { receiveBufferBytes: number };
  close(): Promise<void>;
}

/**
 * RFC 5426: one syslog message per datagram; trailing CR/LF/NUL are the sender's framing, not content.
 * An IPv6 host (`::`) binds dual stack (`ipv6Only: false`), so IPv4 senders arrive IPv4-mapped and are
 * keyed by their plain IPv4 address.
 */
export async function startUdpListener(options: UdpListenerOptions): Promise<UdpListener> {
  const socket = dgram.createSocket(
    isIPv6(options.host) ? { type: 'udp6', ipv6Only: false } : { type: 'udp4' },
  );
  const onMessage = options.onMessage;
  const counters = { messages: 0, bytes: 0, truncated: 0, receiveBufferBytes: 0 };
  socket.on('message', (datagram, rinfo) => {
    counters.messages++;
    counters.bytes += datagram.length;
    let end = datagram.length;
    const truncated = end > options.maxMessageBytes;
    if (truncated) {
      end = options.maxMessageBytes;
      counters.truncated++;
    }
    while (end > 0) {
      const last = datagram[end - 1];
      if (last !== 0x0a && last !== 0x0d && last !== 0x00) break;
      end--;
    }
    onMessage(datagram.subarray(0, end), sourceKey(rinfo.address), 'udp', truncated);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // The kernel caps this at net.core.rmem_max; report what we really got so loss can be explained.
  try {
    socket.setRecvBufferSize(options.receiveBufferBytes);
  } catch {
    /* keep the default buffer; the status shows its size */
  }
  counters.receiveBufferBytes = socket.getRecvBufferSize();
  socket.on('error', () => {
    /* a UDP socket error after bind (e.g. ICMP unreachable) must not crash the agent */
  });
  return {
    port: socket.address().port,
    counters,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
