/**
 * Horizontal scan (a sweep): one external source touching many of the member's hosts on the same
 * port (or, for ICMP and other port-less protocols, the same protocol) within a window. Denied and
 * allowed attempts both count: a sweep is a sweep whether or not the firewall let it through.
 * Mirai-style telnet probing across hosts (23/2323) shows here as well as in brute-force.
 *
 * The window hops (two windows offset by half, `HoppingDistinctWindow`): a sweep that fits in half a
 * window is always seen whole, wherever it starts. Only external sources count: a member's own
 * vulnerability scanner or monitoring system sweeping internal hosts from inside is not an inbound
 * scan (and a firewall between the member's own zones logs it as internal to internal).
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import {
  alertBookFor,
  BoundedMap,
  HoppingDistinctWindow,
  labelNote,
  looksLikeReply,
  plural,
  span,
} from '../kit.js';

export interface HorizontalScanSettings extends CommonSettings {
  /** Distinct destination hosts on one port within `windowS` that make a sweep. */
  readonly minHosts: number;
  /** Hosts at which the alert becomes medium (a sweep of a whole subnet). */
  readonly mediumHosts: number;
  readonly windowS: number;
  /** Ports tracked per source (a source sweeping more ports at once is a block scan; its first ports still count). */
  readonly maxPortsPerSource: number;
}

interface SourceState {
  lastMs: number;
  readonly window: HoppingDistinctWindow<string>;
}

const NAME = 'horizontal-scan';

export const horizontalScan: Detector<HorizontalScanSettings> = {
  name: NAME,
  description: 'one external source sweeping many of your hosts on the same port',
  defaults: {
    minHosts: 10,
    mediumHosts: 100,
    windowS: 300,
    maxPortsPerSource: 64,
    maxTrackedKeys: 10_000,
    cooldownS: 3600,
  },
  create(settings: HorizontalScanSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary: `${f.source} probed ${f.distinctCapped ? 'at least ' : ''}${f.distinctTargets} of your addresses on ${f.ports.length > 0 ? `port ${f.ports.join(', ')}` : f.protocols.join(', ')} within ${span(f)} (${plural(f.events, 'attempt')}).${labelNote(f)}`,
      advice:
        'A sweep looks for any machine that answers on one service. Check that the swept port is closed on every host that does not need it, and that the hosts that need it are patched.',
    }));
    const windowMs = settings.windowS * 1000;
    const sources = new BoundedMap<SourceState>(settings.maxTrackedKeys, counters);
    return {
      counters,
      size: () => sources.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        const src = e.src_ip;
        const dst = e.dst_ip;
        if (!facts.srcExternal || src === undefined || dst === undefined || looksLikeReply(e)) return;
        const w = facts.weight;
        const slot = e.dst_port !== undefined ? String(e.dst_port) : (e.proto ?? '?');
        const extended = book.extend(src, tMs, w, dst, e.dst_port, e.proto);
        if (extended) out.push(extended);
        const s =
          sources.touch(src) ??
          sources.add(src, {
            lastMs: tMs,
            window: new HoppingDistinctWindow<string>(
              tMs,
              windowMs,
              settings.maxPortsPerSource,
              settings.mediumHosts,
            ),
          });
        s.lastMs = Math.max(s.lastMs, tMs);
        const n = s.window.add(tMs, w, slot, dst);
        const win = s.window.crossed;
        if (win !== undefined && (n === settings.minHosts || n === settings.mediumHosts)) {
          const medium = n >= settings.mediumHosts;
          const raised = book.raise(src, tMs, {
            severity: medium ? 'medium' : 'low',
            kind: 'sweep',
            thresholds: {
              distinctTargets: medium ? settings.mediumHosts : settings.minHosts,
              windowS: settings.windowS,
            },
            firstMs: win.startMs,
            events: win.events,
            targets: win.get(slot)!.values(),
            ...(e.dst_port !== undefined ? { ports: [e.dst_port] } : {}),
            ...(e.proto !== undefined ? { protocols: [e.proto] } : {}),
          });
          if (raised) out.push(raised);
        }
      },
      flush(tMs: number): readonly Alert[] {
        sources.expire(tMs - windowMs);
        return book.flush(tMs);
      },
    };
  },
};
