/**
 * Worm fan-out: one internal host connecting to many different internet addresses on the ports
 * self-spreading malware uses (SMB 445/139 for WannaCry-style worms, Telnet 23/2323 for Mirai, RDP
 * 3389). Ordinary machines talk to a few known servers on these ports, if any; dozens of distinct
 * addresses within minutes means the host is scanning the internet for its next victim. Allowed and
 * denied attempts count alike: a firewall that blocks the spread still shows the infection.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { alertBookFor, BoundedMap, DistinctWindow, span } from '../kit.js';

export interface WormFanoutSettings extends CommonSettings {
  readonly ports: readonly number[];
  /** Distinct external destinations on one such port within `windowS`. */
  readonly minTargets: number;
  readonly windowS: number;
}

interface SourceState {
  lastMs: number;
  readonly window: DistinctWindow<string>;
}

const NAME = 'worm-fanout';

export const wormFanout: Detector<WormFanoutSettings> = {
  name: NAME,
  description: 'one of your hosts connecting to many internet addresses on SMB, Telnet or RDP, as worms do',
  defaults: {
    ports: [445, 139, 23, 2323, 3389],
    minTargets: 20,
    windowS: 300,
    maxTrackedKeys: 10_000,
    cooldownS: 3600,
  },
  create(settings: WormFanoutSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary: `Your host ${f.source} tried to connect to ${f.distinctCapped ? 'at least ' : ''}${f.distinctTargets} different internet addresses on port ${f.ports.join(', ')} within ${span(f)}: it behaves like a machine infected by a self-spreading worm.`,
      advice:
        'Disconnect this machine from the network, check it with up-to-date anti-malware software, and install missing security updates before reconnecting it. If it is a router, camera or other device, reset it and change its password.',
    }));
    const windowMs = settings.windowS * 1000;
    const ports = new Set(settings.ports);
    const sources = new BoundedMap<SourceState>(settings.maxTrackedKeys, counters);
    return {
      counters,
      size: () => sources.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        if (!facts.srcInternal || !facts.dstExternal) return;
        const src = e.src_ip;
        const dst = e.dst_ip;
        const port = e.dst_port;
        if (src === undefined || dst === undefined || port === undefined || !ports.has(port)) return;
        const w = facts.weight;
        const extended = book.extend(src, tMs, w, dst, port, e.proto);
        if (extended) out.push(extended);
        const s =
          sources.touch(src) ??
          sources.add(src, {
            lastMs: tMs,
            window: new DistinctWindow<string>(tMs, windowMs, ports.size, settings.minTargets),
          });
        s.lastMs = Math.max(s.lastMs, tMs);
        if (s.window.add(tMs, w, String(port), dst) === settings.minTargets) {
          const raised = book.raise(src, tMs, {
            severity: 'high',
            kind: 'fanout',
            thresholds: { distinctTargets: settings.minTargets, windowS: settings.windowS },
            firstMs: s.window.startMs,
            events: s.window.events,
            targets: s.window.get(String(port))!.values(),
            ports: [port],
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
