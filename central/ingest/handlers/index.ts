/**
 * One handler per uplink kind, the way Aedes has one file per MQTT packet type. Adding a kind is a
 * file beside these and one line in `UPLINK_HANDLERS`: ingest.ts dispatches to it and the
 * external-broker worker subscribes to it (embedded-broker publishes reach ingest.ts already).
 */
import type { UplinkKind } from '../../../protocol/topics.js';
import type { IngestContext } from '../ingest.js';
import type { IncomingUplink } from '../store-batch.js';
import { alerts } from './alerts.js';
import { events } from './events.js';
import { health } from './health.js';
import { loss } from './loss.js';

export type UplinkOutcome =
  | { readonly status: 'stored' | 'updated' | 'duplicate' }
  | { readonly status: 'quarantined'; readonly reason: string };

export interface UplinkHandler {
  /** Whether this kind's quarantines count towards flagging the device (flag-device.ts). */
  readonly flagsDevice: boolean;
  /**
   * Stores one message (or quarantines it) and keeps this kind's own counters. Throws only when
   * nothing was committed; ingest.ts counts quarantines and store errors for every kind.
   */
  handle(ctx: IngestContext, message: IncomingUplink): Promise<UplinkOutcome>;
}

/** Every uplink kind has an entry, so nothing a device sends is acknowledged and lost: a kind the
 * protocol names before central can store it gets `notIngestedYet(kind)` (quarantined whole, on
 * both broker paths) until its handler lands. Today every kind has a store. */
export const UPLINK_HANDLERS: Readonly<Record<UplinkKind, UplinkHandler>> = {
  events,
  loss,
  alerts,
  health,
};

/** The kinds central ingests, in `UPLINK_HANDLERS` order. */
export const INGESTED_KINDS = Object.keys(UPLINK_HANDLERS) as readonly UplinkKind[];
