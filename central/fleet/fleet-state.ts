/**
 * Fleet state of one appliance, from what central stored about it: its last few heartbeats
 * (`device_health`), when its data last arrived (`devices.last_seen`) and when it was enrolled. Pure:
 * the clock and the settings are arguments, so the portal's fleet page, `/portal/fleet.json` and the
 * silent-appliance notices all give the same verdict, and the tests need no database.
 *
 * - `silent`: nothing at all (no heartbeat, no data) for `silentAfterH` hours — the box is off, cut
 *   off, or its agent is not running. Silence wins over everything else: the last heartbeat is stale.
 * - `degraded`: it talks, but something needs a look; every reason found is listed (below).
 * - `healthy`: heartbeats arrive and none of the reasons holds.
 *
 * Thresholds are fixed here rather than settings: they describe an appliance, not a deployment.
 */

/** One stored heartbeat, as the store reads it back (central/store/fleet-list.ts). */
export interface HeartbeatView {
  /** Central's clock: when it arrived. */
  readonly receivedAt: Date;
  readonly version: string | null;
  readonly uptimeS: number | null;
  readonly cpuLoadPct: number | null;
  readonly memoryUsedPct: number | null;
  readonly diskTotalBytes: number | null;
  readonly diskFreeBytes: number | null;
  readonly temperatureC: number | null;
  readonly outboxEvents: number | null;
  readonly outboxBytes: number | null;
  readonly outboxState: string | null;
  readonly lostEvents: number | null;
  readonly lastUploadAt: Date | null;
  readonly uplinkRestarts: number | null;
  readonly detection: boolean | null;
  readonly sourceCount: number | null;
  readonly activeSources: number | null;
  readonly sourceFormats: Readonly<Record<string, number>> | null;
  readonly parsed: number | null;
  readonly unparsed: number | null;
}

export interface DeviceFacts {
  /** When the device was approved: a device never heard from counts its silence from here. */
  readonly approvedAt: Date | null;
  /** When its last data (events, alerts, loss records) arrived; null: none since enrolment. */
  readonly lastData: Date | null;
  /** Its latest heartbeats, newest first (the store reads three). */
  readonly heartbeats: readonly HeartbeatView[];
}

export interface FleetSettings {
  /** Hours without a heartbeat or data before a device is silent (`silentAfterH`, default 6). */
  readonly silentAfterH: number;
}

export type FleetState = 'healthy' | 'degraded' | 'silent';

export interface FleetVerdict {
  readonly state: FleetState;
  /** Why, in words an officer can act on; empty when healthy. */
  readonly reasons: readonly string[];
  /** The latest of heartbeat, data and enrolment; null when none is known. */
  readonly lastContact: Date | null;
  readonly lastHeartbeat: Date | null;
  readonly version: string | null;
}

/** Below this share of its filesystem free, the outbox may soon refuse data. */
export const MIN_DISK_FREE_FRACTION = 0.1;
/** More than this share of messages not understood (once there are enough to tell). */
export const MAX_UNPARSED_SHARE = 0.5;
export const MIN_MESSAGES_FOR_SHARE = 100;
/** The outbox is growing: its depth rose at every one of the last three heartbeats, to at least this. */
export const GROWING_OUTBOX_MIN_EVENTS = 1000;
/** CPU temperature at which a small board throttles. */
export const HOT_C = 80;

const HOUR_MS = 3_600_000;

/** "45 minutes", "7 hours", "3 days": how long ago, rounded for a person. */
export function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 90) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(ms / HOUR_MS);
  if (hours < 48) return `${hours} hours`;
  return `${Math.round(ms / (24 * HOUR_MS))} days`;
}

const latest = (...dates: (Date | null | undefined)[]): Date | null => {
  let best: Date | null = null;
  for (const d of dates) if (d && (!best || d > best)) best = d;
  return best;
};

export function fleetState(facts: DeviceFacts, settings: FleetSettings, now: Date): FleetVerdict {
  const [last, previous] = facts.heartbeats;
  const lastHeartbeat = last?.receivedAt ?? null;
  const lastContact = latest(lastHeartbeat, facts.lastData, facts.approvedAt);
  const silentAfterMs = settings.silentAfterH * HOUR_MS;
  const base = { lastContact, lastHeartbeat, version: last?.version ?? null };
  const quietMs = lastContact === null ? Number.POSITIVE_INFINITY : now.getTime() - lastContact.getTime();
  if (quietMs >= silentAfterMs) {
    const heard = lastHeartbeat !== null || facts.lastData !== null;
    const reason =
      lastContact === null
        ? 'nothing received from it yet'
        : heard
          ? `no heartbeat and no data for ${duration(quietMs)}`
          : `nothing received since it was enrolled ${duration(quietMs)} ago`;
    return { state: 'silent', reasons: [reason], ...base };
  }

  const reasons: string[] = [];
  if (last === undefined || now.getTime() - last.receivedAt.getTime() >= silentAfterMs) {
    // Data arrives, heartbeats do not: an agent from before heartbeats, or the health topic refused.
    reasons.push(
      last === undefined
        ? 'no heartbeat received (data arrives: an agent too old to send them?)'
        : `no heartbeat for ${duration(now.getTime() - last.receivedAt.getTime())} (data still arrives)`,
    );
  }
  if (last !== undefined) reasons.push(...heartbeatReasons(last, previous, facts.heartbeats));
  return { state: reasons.length === 0 ? 'healthy' : 'degraded', reasons, ...base };
}

function heartbeatReasons(
  last: HeartbeatView,
  previous: HeartbeatView | undefined,
  all: readonly HeartbeatView[],
): string[] {
  const reasons: string[] = [];
  if (last.outboxState !== null && last.outboxState !== 'ok')
    reasons.push(`outbox ${last.outboxState}: new data may be refused or the oldest evicted`);
  if (last.diskTotalBytes !== null && last.diskFreeBytes !== null && last.diskTotalBytes > 0) {
    const free = last.diskFreeBytes / last.diskTotalBytes;
    if (free < MIN_DISK_FREE_FRACTION) reasons.push(`disk ${Math.round(free * 1000) / 10} % free`);
  }
  if (outboxGrowing(all))
    reasons.push(`outbox growing: ${last.outboxEvents} events waiting for central (uploads not keeping up)`);
  if (last.lostEvents !== null && previous?.lostEvents != null && last.lostEvents > previous.lostEvents)
    reasons.push(`${last.lostEvents - previous.lostEvents} events lost since the previous heartbeat`);
  // Restarts count since the agent started: an old fault is not news once an earlier heartbeat had it.
  const restarts = last.uplinkRestarts ?? 0;
  if (restarts > (previous?.uplinkRestarts ?? 0))
    reasons.push(`uplink restarted ${restarts} times since the agent started (a fault in the MQTT stack)`);
  if (last.parsed !== null && last.unparsed !== null) {
    const total = last.parsed + last.unparsed;
    if (total >= MIN_MESSAGES_FOR_SHARE && last.unparsed / total > MAX_UNPARSED_SHARE)
      reasons.push(
        `${Math.round((last.unparsed / total) * 100)} % of log lines not understood (format not supported or misdetected)`,
      );
  }
  if (last.activeSources !== null && last.activeSources === 0)
    reasons.push(
      last.sourceCount === 0
        ? 'no log sources: no firewall sends it logs'
        : 'no log source sent anything in the last hour',
    );
  if (last.temperatureC !== null && last.temperatureC >= HOT_C)
    reasons.push(`running hot: ${last.temperatureC} °C`);
  return reasons;
}

/** Depth rose at each of the last three heartbeats and is now substantial. */
function outboxGrowing(heartbeats: readonly HeartbeatView[]): boolean {
  if (heartbeats.length < 3) return false;
  const depths = heartbeats.slice(0, 3).map((h) => h.outboxEvents);
  if (depths.some((d) => d === null)) return false;
  const [newest, middle, oldest] = depths as number[];
  return newest! >= GROWING_OUTBOX_MIN_EVENTS && newest! > middle! && middle! > oldest!;
}
