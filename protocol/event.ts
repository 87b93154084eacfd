import { type Static, Type } from '@sinclair/typebox';
import { ACTIONS, TEXT_MAX_LENGTH as MAX } from './event-fields.js';
import { limits } from './limits.js';

export { ACTIONS };

/**
 * The normalised connection event: what every firewall parser produces and, after the privacy
 * boundary (minimise), what travels to central. One definition gives both the TypeScript type and
 * the validator central runs on untrusted batches.
 */
// No NUL: PostgreSQL text cannot store U+0000, so the wire refuses it (protocol/cbor-scan.ts).
const Text = (maxLength: number) =>
  Type.String({ maxLength: Math.min(maxLength, limits.maxStringBytes), pattern: '^[^\\u0000]*$' });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const Action = Type.Union(ACTIONS.map((a) => Type.Literal(a)));
export type Action = (typeof ACTIONS)[number];

export const ConnectionEventSchema = Type.Object(
  {
    /** ISO-8601 with offset; absent when the line carries no date. */
    ts: Type.Optional(Text(MAX.ts)),
    /** Parser family that produced the event, e.g. `netfilter`. */
    vendor: Text(MAX.vendor),
    src_ip: Type.Optional(Text(MAX.src_ip)),
    src_port: Type.Optional(Port),
    dst_ip: Type.Optional(Text(MAX.dst_ip)),
    dst_port: Type.Optional(Port),
    /** Lower-case IANA keyword: tcp, udp, icmp, ipv6-icmp, gre, esp, ... or the number as text. */
    proto: Type.Optional(Text(MAX.proto)),
    action: Action,
    src_nat_ip: Type.Optional(Text(MAX.src_nat_ip)),
    src_nat_port: Type.Optional(Port),
    dst_nat_ip: Type.Optional(Text(MAX.dst_nat_ip)),
    dst_nat_port: Type.Optional(Port),
    bytes: Type.Optional(Count),
    packets: Type.Optional(Count),
    rule: Type.Optional(Text(MAX.rule)),
    interface: Type.Optional(Text(MAX.interface)),
    /** `in`, `out` or the vendor's zone pair as text. */
    direction: Type.Optional(Text(MAX.direction)),
    category: Type.Optional(Text(MAX.category)),
    severity: Type.Optional(Text(MAX.severity)),
    /** How many raw events this record stands for (1 unless summarised). */
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    /** Summaries: ISO-8601 time of the last event the record stands for (`ts` is the first). */
    last_seen: Type.Optional(Text(MAX.last_seen)),
    /** Summaries: distinct source ports among its events (exact up to 64, an estimate, ±3 %, above). */
    src_ports: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
  },
  { additionalProperties: false },
);

export type ConnectionEvent = Static<typeof ConnectionEventSchema>;

/** Keys an event may carry, in wire order; the privacy boundary allows nothing else. */
export const EVENT_KEYS = Object.keys(ConnectionEventSchema.properties) as readonly (keyof ConnectionEvent)[];
