export type Transport = 'udp' | 'tcp' | 'tls';

/** Called once per syslog message; `source` is the sender's address (per-source accounting key). */
export type MessageHandler = (raw: string, source: string, transport: Transport) => void;

export interface ListenerCounters {
  messages: number;
  bytes: number;
  /** Messages longer than maxMessageBytes, cut to that length (still parsed). */
  truncated: number;
}
