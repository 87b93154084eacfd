import net from 'node:net';
import { SyslogFrameDecoder } from './tcp-framing.js';
import type { ListenerCounters, MessageHandler } from './types.js';

export interface TcpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxMessageBytes: number;
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
  readonly onMessage: MessageHandler;
}

export interface TcpListenerCounters extends ListenerCounters {
  connections: number;
  open: number;
  refused: number;
  idleClosed: number;
  framingErrors: number;
  octetCounted: number;
  newlineFramed: number;
}

export interface TcpListener {
  readonly port: number;
  readonly counters: TcpListenerCounters;
  close(): Promise<void>;
}

export async function startTcpListener(options: TcpListenerOptions): Promise<TcpListener> {
  const counters: TcpListenerCounters = {
    messages: 0,
    bytes: 0,
    truncated: 0,
    connections: 0,
    open: 0,
    refused: 0,
    idleClosed: 0,
    framingErrors: 0,
    octetCounted: 0,
    newlineFramed: 0,
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    if (sockets.size >= options.maxConnections) {
      counters.refused++;
      socket.destroy();
      return;
    }
    counters.connections++;
    sockets.add(socket);
    counters.open = sockets.size;
    const source = socket.remoteAddress ?? 'unknown';
    const decoder = new SyslogFrameDecoder(
      options.maxMessageBytes,
      (frame) => {
        counters.messages++;
        options.onMessage(frame.toString('utf8'), source, 'tcp');
      },
      counters,
    );
    socket.setTimeout(options.idleTimeoutMs, () => {
      counters.idleClosed++;
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      counters.bytes += chunk.length;
      const before = decoder.framing;
      decoder.push(chunk);
      if (before === 'unknown') {
        if (decoder.framing === 'octet') counters.octetCounted++;
        else if (decoder.framing === 'newline') counters.newlineFramed++;
      }
    });
    const finish = () => {
      if (!sockets.delete(socket)) return;
      decoder.end();
      counters.open = sockets.size;
    };
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => {
      /* resets from senders are normal; 'close' follows */
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    counters,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
