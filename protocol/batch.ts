import { type Static, Type } from '@sinclair/typebox';
import { ConnectionEventSchema } from './event.js';
import { limits } from './limits.js';
import { DEVICE_ID_PATTERN } from './topics.js';

/** Wire version of the batch envelope; a decoder rejects any other value. */
export const BATCH_VERSION = 1;

/**
 * The uplink batch envelope: what the appliance's outbox seals and central's ingest decodes.
 * One definition gives both the TypeScript type and the validator central runs on untrusted input.
 */
export const BatchSchema = Type.Object(
  {
    v: Type.Literal(BATCH_VERSION),
    /** The sending device; must equal the id in the topic and the client certificate (central checks). */
    device: Type.String({ maxLength: 64, pattern: DEVICE_ID_PATTERN.source }),
    /** Per-device sequence number; central acknowledges and de-duplicates by it. */
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** When the batch was sealed, epoch milliseconds by the device's clock (which may be wrong). */
    created: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    events: Type.Array(ConnectionEventSchema, { maxItems: limits.maxEventsPerBatch }),
  },
  { additionalProperties: false },
);

export type Batch = Static<typeof BatchSchema>;
