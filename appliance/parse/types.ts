import type { ConnectionEvent } from '../../protocol/event.js';

/** A syslog message split into its header and body by `header.ts`. Every header field is optional:
 * firewalls send lines with no PRI, no hostname or no date at all. */
export interface SyslogMessage {
  /** RFC 5424 §6.2.1 PRI value (facility * 8 + severity), absent when the line has none. */
  readonly pri?: number;
  /** Header timestamp as ISO-8601 with offset (`Z` when the sender gave no zone). */
  readonly ts?: string;
  readonly host?: string;
  /** RFC 3164 TAG / RFC 5424 APP-NAME, e.g. `kernel`, `filterlog`, `%ASA-4-106023`. */
  readonly app?: string;
  readonly procId?: string;
  readonly msgId?: string;
  /** RFC 5424 STRUCTURED-DATA, kept apart from the message text, verbatim. */
  readonly structuredData?: string;
  /** The message body after the header (the whole line when no header was recognised). */
  readonly msg: string;
  /** The complete original message, for parsers whose format spans header and body. */
  readonly raw: string;
}

export type ParseResult =
  | { readonly ok: true; readonly event: ConnectionEvent }
  | { readonly ok: false; readonly reason: string };

/**
 * One firewall family. `detect` is cheap (a few `startsWith`/`includes`, no regex over the whole
 * line where avoidable) and returns a confidence in [0, 1]; `parse` turns a message into one
 * normalised event or a reason. Neither throws on any input.
 */
export interface ParserFamily {
  readonly name: string;
  /** Human-readable product names covered, for `--help`, the README and `--explain`. */
  readonly products: readonly string[];
  detect(msg: SyslogMessage): number;
  parse(msg: SyslogMessage): ParseResult;
}
