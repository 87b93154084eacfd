/**
 * Vertical (port) scan: one external source trying many ports of one of the member's hosts. Two
 * windows over the same events: a fast one (nmap's default timing: hundreds of ports a minute) and a
 * slow one over hours, for scanners that spread a few probes an hour to stay under rate thresholds
 * (nmap -T1/-T0, the "low and slow" scans psad's and Snort's sfportscan docs describe). Denied and
 * allowed attempts count alike; SYN, FIN, Xmas, NULL, ACK and UDP scans all land here, since the
 * firewall log gives one line per probe whatever its flags.
 *
 * The fast window hops (two windows offset by half, `HoppingDistinctWindow`), so a fast scan that
 * fits in half a window is seen whole wherever it starts, not split across a tumbling boundary and
 * left to the slow window. Internal sources (the member's own vulnerability scanner) are not counted.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import {
  alertBookFor,
  BoundedMap,
  DistinctWindow,
  HoppingDistinctWindow,
  labelNote,
  looksLikeReply,
  span,
} from '../kit.js';

export interface VerticalScanSettings extends CommonSettings {
  /** Distinct ports of one host within `windowS` that make a scan. */
  readonly minPorts: number;
  /** Ports at which the alert becomes medium (a broad scan looking for anything open). */
  readonly mediumPorts: number;
  readonly windowS: number;
  /** The slow variant: distinct ports of one host within `slowWindowS`. */
  readonly slowMinPorts: number;
  readonly slowWindowS: number;
  /** Hosts tracked per source and window (a source scanning more is also a sweep). */
  readonly maxHostsPerSource: number;
}

interface SourceState {
  lastMs: number;
  readonly fast: HoppingDistinctWindow<number>;
  readonly slow: DistinctWindow<number>;
}

const NAME = 'vertical-scan';

export const verticalScan: Detector<VerticalScanSettings> = {
  name: NAME,
  description: 'one external source trying many ports on one of your hosts, quickly or slowly over hours',
  defaults: {
    minPorts: 15,
    mediumPorts: 100,
    windowS: 60,
    slowMinPorts: 30,
    slowWindowS: 6 * 3600,
    maxHostsPerSource: 16,
    maxTrackedKeys: 10_000,
    cooldownS: 3600,
  },
  create(settings: VerticalScanSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary: `${f.source} tried ${f.distinctCapped ? 'at least ' : ''}${f.distinctPorts} different ports on ${f.distinctTargets === 1 ? `your address ${f.targets[0]}` : `${f.distinctTargets} of your addresses`} over ${span(f)}${f.kind === 'slow' ? ', slowly, as if to stay unnoticed' : ''}.${labelNote(f)}`,
      advice:
        'A port scan maps which services a machine offers before an attack. Make sure only the services you need are reachable from the internet, and block this address at the firewall if it keeps coming back.',
    }));
    const windowMs = settings.windowS * 1000;
    const slowWindowMs = settings.slowWindowS * 1000;
    const sources = new BoundedMap<SourceState>(settings.maxTrackedKeys, counters);
    return {
      counters,
      size: () => sources.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        const src = e.src_ip;
        const dst = e.dst_ip;
        const port = e.dst_port;
        if (!facts.srcExternal || src === undefined || dst === undefined || port === undefined) return;
        if (looksLikeReply(e)) return;
        const w = facts.weight;
        const extended = book.extend(src, tMs, w, dst, port, e.proto);
        if (extended) out.push(extended);
        const s =
          sources.touch(src) ??
          sources.add(src, {
            lastMs: tMs,
            fast: new HoppingDistinctWindow<number>(
              tMs,
              windowMs,
              settings.maxHostsPerSource,
              settings.mediumPorts,
            ),
            slow: new DistinctWindow<number>(
              tMs,
              slowWindowMs,
              settings.maxHostsPerSource,
              settings.slowMinPorts,
            ),
          });
        s.lastMs = Math.max(s.lastMs, tMs);
        const fast = s.fast.add(tMs, w, dst, port);
        const slow = s.slow.add(tMs, w, dst, port);
        let finding:
          | {
              window: DistinctWindow<number>;
              kind: string;
              medium: boolean;
              thresholds: Record<string, number>;
            }
          | undefined;
        const fastWindow = s.fast.crossed;
        if (fastWindow !== undefined && (fast === settings.minPorts || fast === settings.mediumPorts)) {
          const medium = fast >= settings.mediumPorts;
          finding = {
            window: fastWindow,
            kind: 'fast',
            medium,
            thresholds: {
              distinctPorts: medium ? settings.mediumPorts : settings.minPorts,
              windowS: settings.windowS,
            },
          };
        } else if (slow === settings.slowMinPorts && !book.isOpen(src, tMs)) {
          finding = {
            window: s.slow,
            kind: 'slow',
            medium: false,
            thresholds: { distinctPorts: settings.slowMinPorts, windowS: settings.slowWindowS },
          };
        }
        if (finding !== undefined) {
          const raised = book.raise(src, tMs, {
            severity: finding.medium ? 'medium' : 'low',
            kind: finding.kind,
            thresholds: finding.thresholds,
            firstMs: finding.window.startMs,
            events: finding.window.events,
            targets: [dst],
            ports: finding.window.get(dst)!.values(),
            ...(e.proto !== undefined ? { protocols: [e.proto] } : {}),
          });
          if (raised) out.push(raised);
        }
      },
      flush(tMs: number): readonly Alert[] {
        sources.expire(tMs - slowWindowMs);
        return book.flush(tMs);
      },
    };
  },
};
