/**
 * Repeated denied outbound: one internal host trying again and again to reach one internet address
 * that the firewall blocks. Software that keeps retrying a blocked destination is often malware
 * calling home to a server the firewall's blocklist knows, or a misconfigured device; either way
 * the member should know which machine it is.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { alertBookFor, BoundedMap, CappedSet, isDenied, span } from '../kit.js';

export interface DeniedOutboundSettings extends CommonSettings {
  /** Denied attempts from one internal host to one external address within `windowS`. */
  readonly minEvents: number;
  /** Attempts at which the alert becomes medium. */
  readonly mediumEvents: number;
  readonly windowS: number;
}

interface PairWindow {
  startMs: number;
  lastMs: number;
  events: number;
  readonly ports: CappedSet<number>;
  fired: number;
}

const NAME = 'denied-outbound';

export const deniedOutbound: Detector<DeniedOutboundSettings> = {
  name: NAME,
  description: 'one of your hosts repeatedly trying to reach an internet address that the firewall blocks',
  defaults: { minEvents: 20, mediumEvents: 200, windowS: 3600, maxTrackedKeys: 10_000, cooldownS: 3600 },
  create(settings: DeniedOutboundSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary: `Your host ${f.source} tried ${f.events} times over ${span(f)} to reach ${f.targets.join(', ')}${f.ports.length > 0 ? ` (port ${f.ports.join(', ')})` : ''}, and the firewall blocked it every time.`,
      advice:
        'Find out which program on this machine makes these connections. If nobody expects it, check the machine for malware; if it is a device or an application you use, its settings may be wrong.',
    }));
    const windowMs = settings.windowS * 1000;
    const pairs = new BoundedMap<PairWindow>(settings.maxTrackedKeys, counters);
    return {
      counters,
      size: () => pairs.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        if (!facts.srcInternal || !facts.dstExternal || !isDenied(e)) return;
        const src = e.src_ip;
        const dst = e.dst_ip;
        if (src === undefined || dst === undefined) return;
        const w = facts.weight;
        const extended = book.extend(src, tMs, w, dst, e.dst_port, e.proto);
        if (extended) out.push(extended);
        const key = `${src}>${dst}`;
        const p =
          pairs.touch(key) ??
          pairs.add(key, { startMs: tMs, lastMs: tMs, events: 0, ports: new CappedSet(20), fired: 0 });
        if (tMs - p.startMs >= windowMs) {
          p.startMs = tMs;
          p.events = 0;
          p.fired = 0;
        }
        p.lastMs = Math.max(p.lastMs, tMs);
        p.events += w;
        if (e.dst_port !== undefined) p.ports.add(e.dst_port);
        const level = p.events >= settings.mediumEvents ? 2 : p.events >= settings.minEvents ? 1 : 0;
        if (level > p.fired) {
          p.fired = level;
          const raised = book.raise(src, tMs, {
            severity: level === 2 ? 'medium' : 'low',
            kind: 'repeated',
            thresholds: {
              events: level === 2 ? settings.mediumEvents : settings.minEvents,
              windowS: settings.windowS,
            },
            firstMs: p.startMs,
            events: p.events,
            targets: [dst],
            ports: p.ports.values(),
            ...(e.proto !== undefined ? { protocols: [e.proto] } : {}),
          });
          if (raised) out.push(raised);
        }
      },
      flush(tMs: number): readonly Alert[] {
        pairs.expire(tMs - windowMs);
        return book.flush(tMs);
      },
    };
  },
};
