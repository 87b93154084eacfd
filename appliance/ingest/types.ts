export type Transport = 'udp' | 'tcp' | 'tls';

/**
 * Called once per syslog message. `source` is the sender's address as a source key (`sourceKey`:
 * IPv4-mapped addresses unwrapped), `bytes` the message's size on the wire after framing, and
 * `truncated` whether it was cut to maxMessageBytes.
 */
export type MessageHandler = (
  raw: string,
  source: string,
  transport: Transport,
  bytes: number,
  truncated: boolean,
) => void;

export interface ListenerCounters {
  messages: number;
  bytes: number;
  /** Messages longer than maxMessageBytes, cut to that length (still parsed). */
  truncated: number;
}
