/**
 * Intelligence hit: an event whose external address is on one of central's blocklists (the
 * look-up is injected, see intel-lookup.ts). Outbound contact with a listed address (an internal
 * source) is the interesting case: high when the firewall allowed it, medium when it blocked it;
 * keyed by the internal host. Inbound traffic from listed addresses is what every internet-facing
 * firewall drops all day, so by default only allowed inbound raises an alert, keyed by the listed
 * address (`alertDeniedInbound` to see all).
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { intelListOf } from '../intel-lookup.js';
import { alertBookFor, isDenied } from '../kit.js';

export interface IntelHitSettings extends CommonSettings {
  readonly alertDeniedInbound: boolean;
}

const NAME = 'intel-hit';

export const intelHit: Detector<IntelHitSettings> = {
  name: NAME,
  description: 'traffic to or from an address on a threat-intelligence blocklist',
  defaults: { alertDeniedInbound: false, maxTrackedKeys: 10_000, cooldownS: 86_400 },
  create(settings: IntelHitSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) =>
      f.kind === 'outbound'
        ? {
            summary: `Your host ${f.source} ${f.severity === 'high' ? 'connected' : 'tried to connect'} to ${f.targets.join(', ')}, which is on the ${f.detail} list of known malicious addresses (${f.events} events).`,
            advice:
              f.severity === 'high'
                ? 'Check this machine for malware now: it reached a known malicious address. Block the address at the firewall if it is not already blocked.'
                : 'The firewall blocked it, but a machine that tries to reach a known malicious address may be infected: check it for malware.',
          }
        : {
            summary: `${f.source}, on the ${f.detail} list of known malicious addresses, was allowed through to ${f.targets.join(', ')} (${f.events} events).`,
            advice: 'Check why the firewall allows this address in, and the logs of the service it reached.',
          },
    );
    return {
      counters,
      size: () => book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        const src = e.src_ip;
        const dst = e.dst_ip;
        if (src === undefined || dst === undefined) return;
        const w = facts.weight;
        const denied = isDenied(e);
        let key: string;
        let peer: string;
        let kind: string;
        let list: string | undefined;
        if (facts.srcInternal && facts.dstExternal) {
          list = intelListOf(context.intel(dst));
          key = src;
          peer = dst;
          kind = 'outbound';
        } else if (facts.srcExternal && (!denied || settings.alertDeniedInbound)) {
          list = intelListOf(context.intel(src));
          key = src;
          peer = dst;
          kind = 'inbound';
        } else {
          return;
        }
        if (list === undefined) return;
        const extended = book.extend(key, tMs, w, peer, e.dst_port, e.proto);
        const severity = kind === 'outbound' && !denied ? 'high' : 'medium';
        const raised = book.raise(key, tMs, {
          severity,
          kind,
          thresholds: { events: 1 },
          firstMs: tMs,
          events: extended ? 0 : w,
          targets: [peer],
          ...(e.dst_port !== undefined ? { ports: [e.dst_port] } : {}),
          ...(e.proto !== undefined ? { protocols: [e.proto] } : {}),
          detail: list,
        });
        if (raised) out.push(raised);
        else if (extended) out.push(extended);
      },
      flush(tMs: number): readonly Alert[] {
        return book.flush(tMs);
      },
    };
  },
};
