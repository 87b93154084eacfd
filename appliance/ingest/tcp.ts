/**
 * Syslog over TCP (RFC 6587). The per-connection handling (framing, limits, counters) is shared with
 * the TLS listener (RFC 5425), which only adds the handshake in front of it.
 */
import net from 'node:net';
import { sourceKey } from './address.js';
import { SyslogFrameDecoder } from './tcp-framing.js';
import type { IngestBackpressure, ListenerCounters, MessageHandler } from './types.js';

export interface StreamListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxMessageBytes: number;
  /** Per listener; connections still in a TLS handshake count too. */
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
  readonly onMessage: MessageHandler;
  /** While it is congested, connections stop reading (the sender waits; nothing is lost). */
  readonly backpressure?: IngestBackpressure;
}

export type TcpListenerOptions = StreamListenerOptions;

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

export function newStreamCounters(): TcpListenerCounters {
  return {
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
}

/**
 * Reads syslog frames from one established connection (plain TCP, or TLS after the handshake) and
 * hands each to `onMessage`. Closes the connection after `idleTimeoutMs` without data (counted).
 * Never throws: resets and socket errors end the connection, what was framed so far is kept.
 */
export function handleSyslogConnection(
  socket: net.Socket,
  transport: 'tcp' | 'tls',
  options: StreamListenerOptions,
  counters: TcpListenerCounters,
  sockets: Set<net.Socket>,
): void {
  counters.connections++;
  sockets.add(socket);
  counters.open = sockets.size;
  const source = sourceKey(socket.remoteAddress);
  const onMessage = options.onMessage;
  const decoder = new SyslogFrameDecoder(
    options.maxMessageBytes,
    (frame, truncated) => {
      counters.messages++;
      onMessage(frame, source, transport, truncated);
    },
    counters,
  );
  const backpressure = options.backpressure;
  let paused = false;
  socket.setTimeout(options.idleTimeoutMs, () => {
    if (paused) return; // quiet because we stopped reading, not because the sender went away
    counters.idleClosed++;
    socket.destroy();
  });
  const resume = () => {
    paused = false;
    if (!socket.destroyed) socket.resume();
  };
  socket.on('data', (chunk: Buffer) => {
    counters.bytes += chunk.length;
    const before = decoder.framing;
    decoder.push(chunk);
    if (before === 'unknown') {
      if (decoder.framing === 'octet') counters.octetCounted++;
      else if (decoder.framing === 'newline') counters.newlineFramed++;
    }
    if (backpressure?.congested && !paused) {
      paused = true;
      socket.pause();
      backpressure.whenRelieved(resume);
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
}

/**
 * Binds a TCP or TLS server, refusing connections over `maxConnections` before any byte (or TLS
 * handshake) is processed: Node closes them and emits 'drop', which we count.
 */
export async function listenStream(
  server: net.Server,
  options: StreamListenerOptions,
  counters: TcpListenerCounters,
  sockets: Set<net.Socket>,
): Promise<TcpListener> {
  server.maxConnections = options.maxConnections;
  server.on('drop', () => {
    counters.refused++;
  });
  // Every accepted connection, including TLS ones still in their handshake, so close() ends them all.
  const accepted = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {
    /* errors after listen (EMFILE on accept) must not crash the agent; the connection is lost */
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    counters,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        for (const s of accepted) s.destroy();
      }),
  };
}

export async function startTcpListener(options: TcpListenerOptions): Promise<TcpListener> {
  const counters = newStreamCounters();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) =>
    handleSyslogConnection(socket, 'tcp', options, counters, sockets),
  );
  return listenStream(server, options, counters, sockets);
}
