/**
 * IP protocol scan (nmap -sO): one external source sending packets of many different IP protocols
 * (GRE, ESP, AH, SCTP, numbered ones…) to one host, to learn which the host speaks. These packets
 * have no ports, so port-scan detectors cannot see them. Ordinary traffic between two hosts uses a
 * handful of protocols (TCP, UDP, ICMP, perhaps GRE or ESP for a VPN), so eight distinct ones within
 * a minute is a scan.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { alertBookFor, BoundedMap, DistinctWindow, labelNote, span } from '../kit.js';

export interface ProtocolScanSettings extends CommonSettings {
  /** Distinct IP protocols towards one host within `windowS`. */
  readonly minProtocols: number;
  readonly windowS: number;
  readonly maxHostsPerSource: number;
}

interface SourceState {
  lastMs: number;
  readonly window: DistinctWindow<string>;
}

const NAME = 'protocol-scan';

export const protocolScan: Detector<ProtocolScanSettings> = {
  name: NAME,
  description: 'one external source trying many different IP protocols on one of your hosts',
  defaults: { minProtocols: 8, windowS: 60, maxHostsPerSource: 16, maxTrackedKeys: 10_000, cooldownS: 3600 },
  create(settings: ProtocolScanSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary: `${f.source} sent ${f.protocols.length >= 20 ? 'at least 20' : f.protocols.length} different IP protocols to ${f.targets.join(', ')} within ${span(f)}: an IP protocol scan.${labelNote(f)}`,
      advice:
        'A protocol scan looks for unusual services such as VPN or routing protocols. Make sure your firewall drops every protocol you do not use from the internet, not only TCP and UDP ports.',
    }));
    const windowMs = settings.windowS * 1000;
    const sources = new BoundedMap<SourceState>(settings.maxTrackedKeys, counters);
    return {
      counters,
      size: () => sources.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        const src = e.src_ip;
        const dst = e.dst_ip;
        const proto = e.proto;
        if (!facts.srcExternal || src === undefined || dst === undefined || proto === undefined) return;
        const w = facts.weight;
        const extended = book.extend(src, tMs, w, dst, e.dst_port, proto);
        if (extended) out.push(extended);
        const s =
          sources.touch(src) ??
          sources.add(src, {
            lastMs: tMs,
            window: new DistinctWindow<string>(
              tMs,
              windowMs,
              settings.maxHostsPerSource,
              settings.minProtocols,
            ),
          });
        s.lastMs = Math.max(s.lastMs, tMs);
        if (s.window.add(tMs, w, dst, proto) === settings.minProtocols) {
          const raised = book.raise(src, tMs, {
            severity: 'low',
            kind: 'ip-protocol',
            thresholds: { distinctProtocols: settings.minProtocols, windowS: settings.windowS },
            firstMs: s.window.startMs,
            events: s.window.events,
            targets: [dst],
            protocols: s.window.get(dst)!.values(),
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
