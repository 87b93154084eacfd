/**
 * Beaconing: an internal host contacting one internet address at regular intervals, as malware
 * checks in with its command server. Detected from the events' own timestamps: at least
 * `minIntervals` intervals between contacts whose coefficient of variation (standard deviation /
 * mean) is below `maxCv`; RITA and similar tools use the same dispersion idea. Events closer than
 * `minGapS` are one contact (a burst); a contact lasting over `maxBurstS` is sustained use, and the
 * pair starts over. That rule is what keeps summaries honest: a continuous stream cut into 60-second
 * summary records would otherwise look like a 60-second beacon. A summary record of two events a
 * gap apart is two contacts; one of three or more spread over `maxBurstS` is sustained use.
 *
 * Every (host, destination) pair a browsing machine opens would crowd out the few that matter, so
 * pairs start in a probation map and move to the tracked map only once contacted a second time (the
 * 2Q cache idea): a flood of one-off pairs evicts other one-off pairs, not a beacon being watched.
 * Time services (NTP 123) and DNS (53) are regular by design and are skipped (`ignorePorts`), on
 * either side: a member's own NTP or DNS server answering an internet client that polls every 64 s
 * sends from 123 or 53 to the client's port, as regular as any beacon. Other answers (a well-known
 * source port to a high port, `looksLikeReply`) are a server's half of a conversation, not a host
 * calling out, and are skipped too.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { alertBookFor, BoundedMap, looksLikeReply } from '../kit.js';

export interface BeaconingSettings extends CommonSettings {
  readonly minIntervals: number;
  /** Largest coefficient of variation of the intervals that is still "regular". */
  readonly maxCv: number;
  /** Contacts closer than this are one contact. */
  readonly minGapS: number;
  /** A contact (a burst) lasting longer than this is sustained use, not a check-in: the pair starts over. */
  readonly maxBurstS: number;
  /** Mean intervals outside [minPeriodS, maxPeriodS] are not beacons. */
  readonly minPeriodS: number;
  readonly maxPeriodS: number;
  /** Intervals kept per pair (the most recent). */
  readonly maxIntervals: number;
  readonly ignorePorts: readonly number[];
}

interface Pair {
  /** Last event of the pair (for expiry and to join bursts). */
  lastMs: number;
  /** Start of the current contact: intervals run from contact start to contact start. */
  contactMs: number;
  readonly firstMs: number;
  readonly intervals: number[];
  events: number;
  readonly port: number | undefined;
}

const NAME = 'beaconing';

function regularity(intervals: readonly number[], n: number): { mean: number; cv: number } {
  let sum = 0;
  for (let i = intervals.length - n; i < intervals.length; i++) sum += intervals[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = intervals.length - n; i < intervals.length; i++) sq += (intervals[i]! - mean) ** 2;
  return { mean, cv: mean > 0 ? Math.sqrt(sq / n) / mean : Number.POSITIVE_INFINITY };
}

export const beaconing: Detector<BeaconingSettings> = {
  name: NAME,
  description:
    'one of your hosts contacting the same internet address at very regular intervals, as malware checks in',
  defaults: {
    minIntervals: 8,
    maxCv: 0.1,
    minGapS: 10,
    maxBurstS: 30,
    minPeriodS: 30,
    maxPeriodS: 86_400,
    maxIntervals: 32,
    ignorePorts: [53, 123],
    maxTrackedKeys: 10_000,
    cooldownS: 86_400,
  },
  create(settings: BeaconingSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary: `Your host ${f.source} contacted ${f.targets.join(', ')}${f.ports.length > 0 ? ` on port ${f.ports.join(', ')}` : ''} about every ${f.detail}, like clockwork (${f.events} connections): the pattern of malware checking in with its controller.`,
      advice:
        'Find out which program on this machine makes these connections. Backup, update and monitoring software can be this regular; if none explains it, check the machine for malware and consider blocking the address.',
    }));
    const gapMs = settings.minGapS * 1000;
    const burstMs = settings.maxBurstS * 1000;
    const ignorePorts = new Set(settings.ignorePorts);
    const probation = new BoundedMap<{ lastMs: number; firstMs: number; events: number }>(
      settings.maxTrackedKeys * 2,
      {
        evicted: 0,
        raised: 0,
        updated: 0,
        suppressed: 0,
      },
    );
    const pairs = new BoundedMap<Pair>(settings.maxTrackedKeys, counters);
    function contact(
      key: string,
      src: string,
      dst: string,
      port: number | undefined,
      tMs: number,
      w: number,
      out: Alert[],
    ): void {
      let p = pairs.touch(key);
      if (p === undefined) {
        const seen = probation.get(key);
        if (seen === undefined) {
          probation.add(key, { lastMs: tMs, firstMs: tMs, events: w });
          return;
        }
        if (tMs - seen.lastMs < gapMs) {
          // The same contact (a burst); the pair stays on probation, keyed by its first contact.
          seen.events += w;
          return;
        }
        probation.delete(key);
        p = pairs.add(key, {
          lastMs: seen.lastMs,
          contactMs: seen.firstMs,
          firstMs: seen.firstMs,
          intervals: [],
          events: seen.events,
          port,
        });
      }
      const extended = book.extend(src, tMs, w, dst, port);
      if (extended) out.push(extended);
      p.events += w;
      if (tMs - p.lastMs < gapMs) {
        // The same contact goes on; one that lasts is sustained use, not a check-in.
        if (tMs > p.lastMs) p.lastMs = tMs;
        if (p.lastMs - p.contactMs > burstMs) p.intervals.length = 0;
        return;
      }
      p.intervals.push(tMs - p.contactMs);
      if (p.intervals.length > settings.maxIntervals) p.intervals.shift();
      p.contactMs = tMs;
      p.lastMs = tMs;
      if (p.intervals.length < settings.minIntervals || book.isOpen(src, tMs)) return;
      const { mean, cv } = regularity(p.intervals, settings.minIntervals);
      if (cv >= settings.maxCv || mean < settings.minPeriodS * 1000 || mean > settings.maxPeriodS * 1000)
        return;
      const meanS = Math.round(mean / 1000);
      const raised = book.raise(src, tMs, {
        severity: 'medium',
        kind: 'regular',
        thresholds: { intervals: settings.minIntervals, maxCv: settings.maxCv, periodS: meanS },
        firstMs: p.firstMs,
        events: p.events,
        targets: [dst],
        ...(port !== undefined ? { ports: [port] } : {}),
        detail:
          meanS < 120
            ? `${meanS} seconds`
            : meanS < 7200
              ? `${Math.round(meanS / 60)} minutes`
              : `${Math.round(meanS / 3600)} hours`,
      });
      if (raised) out.push(raised);
    }
    return {
      counters,
      size: () => pairs.size + probation.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        if (!facts.srcInternal || !facts.dstExternal) return;
        const src = e.src_ip;
        const dst = e.dst_ip;
        if (src === undefined || dst === undefined) return;
        if (e.dst_port !== undefined && ignorePorts.has(e.dst_port)) return;
        if (e.src_port !== undefined && ignorePorts.has(e.src_port)) return;
        if (looksLikeReply(e)) return;
        const key = `${src}>${dst}`;
        const count = facts.weight;
        const lastSeen = count > 1 && e.last_seen !== undefined ? Date.parse(e.last_seen) : Number.NaN;
        const spanMs = Number.isFinite(lastSeen) ? lastSeen - tMs : 0;
        if (count > 2 && spanMs > burstMs) {
          // A summary of several events spread over a window is sustained use (as the raw events
          // would show as one long burst): the pair starts over.
          const p = pairs.get(key);
          if (p !== undefined) {
            p.intervals.length = 0;
            p.events += count;
            p.contactMs = tMs;
            p.lastMs = Math.max(p.lastMs, lastSeen);
          }
        } else if (spanMs >= gapMs) {
          // Two events a gap apart: two contacts.
          contact(key, src, dst, e.dst_port, tMs, 1, out);
          contact(key, src, dst, e.dst_port, lastSeen, count - 1, out);
        } else {
          contact(key, src, dst, e.dst_port, tMs, count, out);
        }
      },
      flush(tMs: number): readonly Alert[] {
        const idleMs = settings.maxPeriodS * 1000 * 2;
        probation.expire(tMs - idleMs);
        pairs.expire(tMs - idleMs);
        return book.flush(tMs);
      },
    };
  },
};
