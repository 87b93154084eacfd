/**
 * The `health` uplink kind: the appliance's heartbeat, sent every `healthIntervalS` (and once when
 * the uplink reconnects after missing one). One definition gives the TypeScript type and the
 * validator central runs on untrusted input; the codec is codec.ts's (plain CBOR, strict pre-scan
 * before anything is decoded, then the compiled schema) with bounds of its own.
 *
 * Best-effort by design: a heartbeat is published QoS 1 straight on the uplink's connection, never
 * through the outbox, so it can never evict or delay event data; one that cannot be sent is simply
 * replaced by the next. It carries no sequence number: (device, `at`) names it, and a redelivery is
 * a duplicate.
 *
 * Privacy: the member's log sources are internal information (their firewalls' addresses), so a
 * heartbeat carries only how many sources there are and how many of each detected format, never an
 * address or a host name. Nothing member-written travels here either (format names are the parser
 * family names, `unknown` for a source not detected yet; the version is the agent's own).
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { CborScanLimits } from './cbor-scan.js';
import { decodeStrict, plainEncoder } from './strict-cbor.js';
import { DEVICE_ID_PATTERN, isValidDeviceId } from './topics.js';

/** Wire version of a heartbeat; a decoder rejects any other value. */
export const HEALTH_VERSION = 1;
/** Distinct source formats one heartbeat may list (there are ~20 families, plus `unknown`). */
export const MAX_HEALTH_FORMATS = 32;
/** A heartbeat is a few hundred bytes; anything past this is refused before it is scanned. */
export const MAX_HEALTH_PAYLOAD_BYTES = 4096;
/** The format of a source not detected (yet): the key `byFormat` counts it under. */
export const UNKNOWN_FORMAT = 'unknown';

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const EpochMs = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const OUTBOX_STATES = ['ok', 'full', 'read-only', 'error'] as const;

export const HealthReportSchema = Type.Object(
  {
    v: Type.Literal(HEALTH_VERSION),
    device: Type.String({ maxLength: 64, pattern: DEVICE_ID_PATTERN.source }),
    /** When the heartbeat was built, epoch ms by the device's clock. */
    at: EpochMs,
    /** The agent's version (package.json's). */
    version: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$' }),
    /** The machine's uptime in seconds (not the agent's). */
    uptimeS: Nullable(Count),
    /** Whole-machine CPU load, percent of all cores (systeminformation currentLoad). */
    cpuLoadPct: Nullable(Type.Number({ minimum: 0, maximum: 100 })),
    memory: Nullable(
      Type.Object({ totalBytes: Count, availableBytes: Count }, { additionalProperties: false }),
    ),
    /** The filesystem holding the data directory (the outbox's disk). */
    disk: Nullable(Type.Object({ totalBytes: Count, freeBytes: Count }, { additionalProperties: false })),
    /** Null where the board has no sensor. */
    temperatureC: Nullable(Type.Number({ minimum: -100, maximum: 250 })),
    sources: Type.Object(
      {
        /** Log sources seen since the agent started (the intake's pooled `other` counts as one). */
        count: Count,
        /** Of those, the ones that sent anything in the last hour. */
        active: Count,
        /** Sources per detected format (family name), `unknown` for undetected ones. */
        byFormat: Type.Record(Type.RegExp(/^[a-z0-9_]{1,48}$/), Count, {
          maxProperties: MAX_HEALTH_FORMATS,
          additionalProperties: false,
        }),
      },
      { additionalProperties: false },
    ),
    /** Messages parsed / not understood since the agent started. */
    parse: Type.Object({ parsed: Count, unparsed: Count }, { additionalProperties: false }),
    outbox: Type.Object(
      {
        /** Raw events and stored bytes waiting for central. */
        events: Count,
        bytes: Count,
        state: Type.Union(OUTBOX_STATES.map((s) => Type.Literal(s))),
        /** Events lost since the outbox was created (each also in a loss record). */
        lostEvents: Count,
      },
      { additionalProperties: false },
    ),
    uplink: Type.Object(
      {
        /** The last broker acknowledgement of a batch (events or alerts), epoch ms; null: none yet. */
        lastUploadAt: Nullable(EpochMs),
        /** Times a fault inside the MQTT stack restarted the uplink since the agent started. */
        restarts: Count,
        /** Successful connections since the agent started (more than one: it reconnected). */
        connects: Count,
      },
      { additionalProperties: false },
    ),
    /** Whether the detectors run (`detectEnabled`). */
    detection: Type.Boolean(),
  },
  { additionalProperties: false },
);

export type HealthReport = Static<typeof HealthReportSchema>;

/** report → sources → byFormat is 3 deep; text is short (format names, the version, the device id). */
const HEALTH_SCAN: CborScanLimits = Object.freeze({
  maxTextBytes: 64,
  maxByteStringBytes: 0,
  maxArrayItems: 0,
  maxMapKeys: MAX_HEALTH_FORMATS,
  maxDepth: 3,
});

const checker = TypeCompiler.Compile(HealthReportSchema);

export type DecodeHealthResult =
  | { readonly ok: true; readonly report: HealthReport }
  | { readonly ok: false; readonly reason: string };

/** Whether a heartbeat would pass central's schema (the agent checks before it publishes). */
export function isValidHealthReport(value: unknown): value is HealthReport {
  return checker.Check(value);
}

/**
 * Encodes a heartbeat. Throws a RangeError only for one no caller should build (wrong version, bad
 * device id); the agent checks the whole report with `isValidHealthReport` first.
 */
export function encodeHealthReport(report: HealthReport): Uint8Array {
  if (report.v !== HEALTH_VERSION) throw new RangeError(`health report version must be ${HEALTH_VERSION}`);
  if (!isValidDeviceId(report.device)) throw new RangeError('health report device id is not valid');
  return plainEncoder.encode(report);
}

/**
 * Decodes an untrusted heartbeat: size, structural pre-scan (before any allocation), CBOR decode,
 * schema. Never throws; the reason is short enough to be a counter label.
 */
export function decodeHealthReport(payload: Uint8Array): DecodeHealthResult {
  const decoded = decodeStrict<HealthReport>(payload, {
    maxBytes: MAX_HEALTH_PAYLOAD_BYTES,
    scan: HEALTH_SCAN,
    checker,
  });
  return decoded.ok ? { ok: true, report: decoded.value } : decoded;
}
