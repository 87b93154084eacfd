/**
 * Syslog over TCP (RFC 6587). The per-connection handling (framing, limits, counters) is shared with
 * the TLS listener (RFC 5425), which only adds the handshake in front of it.
 *
 * Slow senders (slowloris): an idle timeout alone does not help, since every trickled byte resets
 * it. So a frame, once its first byte has arrived, must be complete within `frameTimeoutMs` and must
 * arrive at `minFrameBytesPerS` or faster (after one second of grace); a firewall writes a whole line
 * at once, so only a stalling peer ever meets either limit. And a full listener does not refuse the
 * newcomer: it evicts the connection that has delivered least (fewest messages, then fewest bytes,
 * then the oldest), so connections that never finish a message cannot starve senders that do.
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
  /** A started frame must be complete within this; default min(idleTimeoutMs, 30 s). */
  readonly frameTimeoutMs?: number;
  /** A frame in progress for more than a second must have arrived at least this fast; default 16. */
  readonly minFrameBytesPerS?: number;
  /** How often deadlines are checked; default 1 s. */
  readonly deadlineCheckMs?: number;
  /** The clock for frame deadlines (tests inject one); default Date.now. */
  readonly now?: () => number;
  readonly onMessage: MessageHandler;
  /** While it is congested, connections stop reading (the sender waits; nothing is lost). */
  readonly backpressure?: IngestBackpressure;
}

export type TcpListenerOptions = StreamListenerOptions;

export interface TcpListenerCounters extends ListenerCounters {
  connections: number;
  open: number;
  refused: number;
  /** Connections closed to make room for a newcomer when the listener was full. */
  evicted: number;
  /** Connections closed because a frame missed its deadline or arrived slower than the minimum rate. */
  slowClosed: number;
  idleClosed: number;
  framingErrors: number;
  octetCounted: number;
  newlineFramed: number;
}

export interface TcpListener {
  readonly port: number;
  readonly counters: TcpListenerCounters;
  /** Closes connections past their frame deadline or under the minimum rate (a timer runs it too). */
  checkDeadlines(): void;
  close(): Promise<void>;
}

/** What one connection has delivered, for deadlines and for choosing whom to evict. */
interface ConnectionRecord {
  /** The accepted socket; for TLS the raw socket, replaced by the TLS socket once established. */
  socket: net.Socket;
  readonly openedAt: number;
  messages: number;
  bytes: number;
  /** When the frame in progress got its first byte; -1: none in progress. */
  frameStartedAt: number;
  frameBytes: number;
  /** Not reading because the pipeline is congested: not the sender's fault, no deadline runs. */
  paused: boolean;
  /** Closed by us (evicted, too slow): its unfinished frame is dropped, not delivered as a message. */
  cut: boolean;
}

/**
 * The connections of one listener, keyed by remote address and port (the one key the raw socket and
 * the TLS socket wrapped around it share), with the eviction and deadline rules.
 */
export class ConnectionTable {
  private readonly records = new Map<string, ConnectionRecord>();

  constructor(
    private readonly options: StreamListenerOptions,
    private readonly counters: TcpListenerCounters,
  ) {}

  get size(): number {
    return this.records.size;
  }

  now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** A newly accepted connection: when the table is full, the one that delivered least makes room. */
  admit(socket: net.Socket): ConnectionRecord | undefined {
    const key = connectionKey(socket);
    if (key === undefined) return undefined;
    const known = this.records.get(key);
    if (known) return known;
    while (this.records.size >= this.options.maxConnections) {
      let victimKey: string | undefined;
      let victim: ConnectionRecord | undefined;
      for (const [k, r] of this.records) {
        if (
          !victim ||
          r.messages < victim.messages ||
          (r.messages === victim.messages &&
            (r.bytes < victim.bytes || (r.bytes === victim.bytes && r.openedAt < victim.openedAt)))
        ) {
          victim = r;
          victimKey = k;
        }
      }
      if (!victim || victimKey === undefined) break;
      this.records.delete(victimKey);
      this.counters.evicted++;
      victim.cut = true;
      victim.socket.destroy();
    }
    const record: ConnectionRecord = {
      socket,
      openedAt: this.now(),
      messages: 0,
      bytes: 0,
      frameStartedAt: -1,
      frameBytes: 0,
      paused: false,
      cut: false,
    };
    this.records.set(key, record);
    socket.once('close', () => {
      if (this.records.get(key)?.socket === socket) this.records.delete(key);
    });
    return record;
  }

  /**
   * The record of an established connection: TCP calls this before the server's 'connection'
   * listeners run, so it admits; TLS finds the record its raw socket got and moves it to the TLS socket.
   */
  attach(socket: net.Socket): ConnectionRecord | undefined {
    const key = connectionKey(socket);
    const record = key === undefined ? undefined : this.records.get(key);
    if (!record) return this.admit(socket);
    if (key !== undefined && record.socket !== socket) {
      record.socket = socket;
      socket.once('close', () => {
        if (this.records.get(key)?.socket === socket) this.records.delete(key);
      });
    }
    return record;
  }

  checkDeadlines(): void {
    const now = this.now();
    const frameTimeoutMs = this.options.frameTimeoutMs ?? Math.min(this.options.idleTimeoutMs, 30_000);
    const minBytesPerS = this.options.minFrameBytesPerS ?? 16;
    for (const [key, r] of this.records) {
      if (r.frameStartedAt < 0 || r.paused) continue;
      const elapsedMs = now - r.frameStartedAt;
      const tooLate = elapsedMs >= frameTimeoutMs;
      const tooSlow = elapsedMs > 1000 && r.frameBytes < (minBytesPerS * elapsedMs) / 1000;
      if (!tooLate && !tooSlow) continue;
      this.records.delete(key);
      this.counters.slowClosed++;
      r.cut = true;
      r.socket.destroy();
    }
  }

  destroyAll(): void {
    for (const r of this.records.values()) r.socket.destroy();
    this.records.clear();
  }
}

function connectionKey(socket: net.Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined || remotePort === undefined
    ? undefined
    : `${remoteAddress}|${remotePort}`;
}

/**
 * After a read: a frame the decoder finished (a message), or nothing left unfinished, ends the
 * deadline; a frame it keeps unfinished starts it, or, already running, adds the read's bytes to its
 * rate. The decoder alone knows where frames end (octet counts, newlines, skipped oversized frames),
 * so nothing here frames the bytes a second time.
 */
function trackFrame(
  record: ConnectionRecord,
  decoder: SyslogFrameDecoder,
  finished: boolean,
  chunkBytes: number,
  now: number,
): void {
  const unfinished = decoder.unfinishedBytes;
  if (finished || unfinished === 0) {
    record.frameStartedAt = -1;
    record.frameBytes = 0;
  }
  if (unfinished === 0) return;
  if (record.frameStartedAt < 0) {
    record.frameStartedAt = now;
    record.frameBytes = unfinished > 0 ? unfinished : chunkBytes;
  } else {
    record.frameBytes += chunkBytes;
  }
}

export function newStreamCounters(): TcpListenerCounters {
  return {
    messages: 0,
    bytes: 0,
    truncated: 0,
    connections: 0,
    open: 0,
    refused: 0,
    evicted: 0,
    slowClosed: 0,
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
  table?: ConnectionTable,
): void {
  counters.connections++;
  const record = table?.attach(socket);
  sockets.add(socket);
  counters.open = sockets.size;
  const source = sourceKey(socket.remoteAddress);
  const onMessage = options.onMessage;
  const decoder = new SyslogFrameDecoder(
    options.maxMessageBytes,
    (frame, truncated) => {
      counters.messages++;
      if (record) record.messages++;
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
    if (record) record.paused = false;
    if (!socket.destroyed) socket.resume();
  };
  socket.on('data', (chunk: Buffer) => {
    counters.bytes += chunk.length;
    const before = decoder.framing;
    const messagesBefore = record?.messages ?? 0;
    decoder.push(chunk);
    if (before === 'unknown') {
      if (decoder.framing === 'octet') counters.octetCounted++;
      else if (decoder.framing === 'newline') counters.newlineFramed++;
    }
    if (record && table) {
      record.bytes += chunk.length;
      trackFrame(record, decoder, record.messages !== messagesBefore, chunk.length, table.now());
    }
    if (backpressure?.congested && !paused) {
      paused = true;
      if (record) record.paused = true;
      socket.pause();
      backpressure.whenRelieved(resume);
    }
  });
  const finish = () => {
    if (!sockets.delete(socket)) return;
    if (!record?.cut) decoder.end();
    counters.open = sockets.size;
  };
  socket.on('end', finish);
  socket.on('close', finish);
  socket.on('error', () => {
    /* resets from senders are normal; 'close' follows */
  });
}

/**
 * Binds a TCP or TLS server. At `maxConnections` (TLS connections in their handshake included) a
 * newcomer evicts the connection that has delivered least (`ConnectionTable.admit`). Node's own
 * `maxConnections` stays as a hard ceiling twice as high, for connections accepted faster than they
 * close; what it refuses is counted.
 */
export async function listenStream(
  server: net.Server,
  options: StreamListenerOptions,
  counters: TcpListenerCounters,
  sockets: Set<net.Socket>,
  table: ConnectionTable = new ConnectionTable(options, counters),
): Promise<TcpListener> {
  server.maxConnections = options.maxConnections * 2;
  server.on('drop', () => {
    counters.refused++;
  });
  // Every accepted connection, including TLS ones still in their handshake, so close() ends them all.
  const accepted = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    accepted.add(socket);
    socket.once('close', () => accepted.delete(socket));
    table.admit(socket);
  });
  const deadlineTimer = setInterval(() => table.checkDeadlines(), options.deadlineCheckMs ?? 1000);
  deadlineTimer.unref();
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
    checkDeadlines: () => table.checkDeadlines(),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(deadlineTimer);
        server.close(() => resolve());
        table.destroyAll();
        for (const s of sockets) s.destroy();
        for (const s of accepted) s.destroy();
      }),
  };
}

export async function startTcpListener(options: TcpListenerOptions): Promise<TcpListener> {
  const counters = newStreamCounters();
  const sockets = new Set<net.Socket>();
  const table = new ConnectionTable(options, counters);
  const server = net.createServer((socket) =>
    handleSyslogConnection(socket, 'tcp', options, counters, sockets, table),
  );
  return listenStream(server, options, counters, sockets, table);
}
