export type Transport = 'udp' | 'tcp' | 'tls';

/**
 * Called once per syslog message with its bytes after framing (UTF-8, trailing CR/LF/NUL removed;
 * valid only during the call: it may share memory with the socket's buffer). `source` is the
 * sender's address as a source key (`sourceKey`: IPv4-mapped addresses unwrapped), `truncated`
 * whether the message was cut to maxMessageBytes.
 */
export type MessageHandler = (
  frame: Buffer,
  source: string,
  transport: Transport,
  truncated: boolean,
) => void;

export interface ListenerCounters {
  messages: number;
  bytes: number;
  /** Messages longer than maxMessageBytes, cut to that length (still parsed). */
  truncated: number;
}

/**
 * A consumer that can fall behind (the parse workers): stream listeners stop reading their sockets
 * while it is congested, so the sender's TCP window closes instead of memory filling.
 */
export interface IngestBackpressure {
  readonly congested: boolean;
  /** Calls back once, when congestion has cleared (at once if it is clear now). */
  whenRelieved(callback: () => void): void;
}
