import { type Static, Type } from '@sinclair/typebox';

/**
 * PROPOSED, not yet on the wire. A flow summary travels today as a plain `ConnectionEvent` with
 * `count` > 1 (`ts` = first seen, `bytes`/`packets` summed), which the current codec and central
 * accept. These two fields carry what a ConnectionEvent cannot say; once central's
 * `ConnectionEventSchema` accepts them (as optional properties, so older devices stay valid) the
 * appliance can send them (`summaryWireEvent(record, { extended: true })`).
 */
export const SummaryFieldsSchema = Type.Object(
  {
    /** ISO-8601 time of the last event the record stands for (`ts` is the first). */
    last_seen: Type.Optional(Type.String({ maxLength: 40, pattern: '^[^\\u0000]*$' })),
    /** Distinct source ports among those events: exact up to 64, an estimate (±3 %) above. */
    src_ports: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
  },
  { additionalProperties: false },
);

export type SummaryFields = Static<typeof SummaryFieldsSchema>;
