/**
 * Decoding limits for everything that crosses the wire. Central checks these before it
 * allocates; the agent checks them before it sends, so a well-behaved device never trips them.
 */
export const limits = {
  /** Largest MQTT payload a batch may have, in bytes (also the broker's maximum packet size). */
  maxPayloadBytes: 1024 * 1024,
  /** Most events one batch may carry. */
  maxEventsPerBatch: 5000,
  /** Longest text value anywhere in a payload, in UTF-8 bytes. */
  maxStringBytes: 256,
  /** Deepest nesting of arrays/maps (batch → events → event is 3). */
  maxDepth: 4,
  /** Most keys one map may have. */
  maxMapKeys: 64,
} as const;

export type Limits = typeof limits;
