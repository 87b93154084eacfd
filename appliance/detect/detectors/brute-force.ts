/**
 * Brute force and password spraying against remote-access services: many connection attempts from
 * one external source to SSH, RDP, SMB, VNC, Telnet, FTP, IKE, mail submission or an SSL-VPN portal.
 * A firewall log shows connections, not log-ins, so an attempt is a logged connection; each service
 * has its own threshold because their normal use differs (a web-based VPN portal opens many
 * connections per log-in, so 443 needs hundreds; Telnet from the internet has no normal use, so a few
 * attempts are Mirai-style default-credential probing).
 *
 * Spraying is the same service on many hosts with a few tries each (one password against every
 * account), which stays under a per-host threshold: `sprayMinHosts` hosts and on average
 * `minAttemptsPerHost` attempts per host. A sweep with one attempt per host is a horizontal
 * scan, not spraying.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert, Severity } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState } from '../detector.js';
import {
  AlertBook,
  BoundedMap,
  CappedSet,
  labelNote,
  looksLikeReply,
  newCounters,
  span,
  weightOf,
} from '../kit.js';

export interface BruteForceService {
  readonly name: string;
  readonly ports: readonly number[];
  /** Attempts from one source within `windowS` that make a brute force. */
  readonly minAttempts: number;
}

export interface BruteForceSettings extends CommonSettings {
  readonly services: readonly BruteForceService[];
  readonly windowS: number;
  /** Attempts, as a multiple of the service's `minAttempts`, that make the alert high. */
  readonly highFactor: number;
  /** Average attempts per host below which it is a sweep (horizontal-scan), not guessing. */
  readonly minAttemptsPerHost: number;
  /** Hosts that make a spray: fewer attempts than `minAttempts` in all, spread over this many hosts. */
  readonly sprayMinHosts: number;
}

// Ports: IANA service-names registry; SSL-VPN portals: Fortinet (10443), SonicWall/others (4433).
const SERVICES: readonly BruteForceService[] = [
  { name: 'SSH', ports: [22], minAttempts: 20 },
  { name: 'RDP', ports: [3389], minAttempts: 10 },
  { name: 'SMB', ports: [445, 139], minAttempts: 10 },
  { name: 'VNC', ports: [5900, 5901, 5902, 5903], minAttempts: 10 },
  { name: 'Telnet', ports: [23, 2323], minAttempts: 5 },
  { name: 'FTP', ports: [21], minAttempts: 20 },
  { name: 'SSL-VPN', ports: [443, 10443, 4433], minAttempts: 300 },
  { name: 'IKE VPN', ports: [500, 4500], minAttempts: 30 },
  { name: 'mail submission', ports: [587, 465], minAttempts: 30 },
];

interface ServiceWindow {
  events: number;
  readonly hosts: CappedSet<string>;
  readonly ports: CappedSet<number>;
  fired: number; // 0: nothing raised in this window, 2: medium, 3: high
  sprayNamed: boolean;
}

interface SourceState {
  startMs: number;
  lastMs: number;
  readonly byService: Map<BruteForceService, ServiceWindow>;
}

const NAME = 'brute-force';

export const bruteForce: Detector<BruteForceSettings> = {
  name: NAME,
  description:
    'many attempts from one source at SSH, RDP, SMB, VNC, Telnet, FTP, VPN or mail log-ins, including password spraying',
  defaults: {
    services: SERVICES,
    windowS: 300,
    highFactor: 10,
    minAttemptsPerHost: 3,
    sprayMinHosts: 5,
    maxTrackedKeys: 10_000,
    cooldownS: 3600,
  },
  create(settings: BruteForceSettings, context: DetectorContext): DetectorState {
    const counters = newCounters();
    const windowMs = settings.windowS * 1000;
    const byPort = new Map<number, BruteForceService>();
    for (const s of settings.services) for (const p of s.ports) byPort.set(p, s);
    const sources = new BoundedMap<SourceState>(settings.maxTrackedKeys, counters);
    const book = new AlertBook(
      {
        detector: NAME,
        cooldownMs: settings.cooldownS * 1000,
        maxOpen: settings.maxTrackedKeys,
        describe: (f) => ({
          summary:
            f.kind === 'spray'
              ? `${f.source} tried to log in to ${f.detail} on ${f.distinctTargets} of your hosts, a few times each (${f.events} attempts over ${span(f)}): password spraying.${labelNote(f)}`
              : f.detail === 'Telnet'
                ? `${f.source} made ${f.events} Telnet connection attempts to ${f.targets.join(', ')} over ${span(f)}: the pattern of Mirai-style botnets trying default passwords on routers, cameras and other devices.${labelNote(f)}`
                : `${f.source} made ${f.events} connection attempts to ${f.detail} on ${f.targets.join(', ')} over ${span(f)}: someone is trying to guess a password.${labelNote(f)}`,
          advice:
            f.detail === 'Telnet'
              ? 'Telnet should never be reachable from the internet: block ports 23 and 2323 at the firewall, and change the default password on every device that has one.'
              : `If ${f.detail} does not need to be reachable from the internet, close it at the firewall or put it behind a VPN. If it does, use strong unique passwords and multi-factor authentication, and check the service's log for successful log-ins from this address.`,
        }),
      },
      context,
      counters,
    );
    return {
      counters,
      size: () => sources.size + book.size,
      observe(e: ConnectionEvent, tMs: number): readonly Alert[] {
        const src = e.src_ip;
        const dst = e.dst_ip;
        const port = e.dst_port;
        if (src === undefined || dst === undefined || port === undefined) return [];
        const service = byPort.get(port);
        if (service === undefined || !context.isExternal(src) || looksLikeReply(e)) return [];
        const w = weightOf(e);
        const out: Alert[] = [];
        const extended = book.extend(src, tMs, w, dst, port, e.proto);
        if (extended) out.push(extended);
        const s = sources.touch(src, () => ({ startMs: tMs, lastMs: tMs, byService: new Map() }));
        if (tMs - s.startMs >= windowMs) {
          s.startMs = tMs;
          s.byService.clear();
        }
        s.lastMs = Math.max(s.lastMs, tMs);
        let sw = s.byService.get(service);
        if (sw === undefined) {
          sw = { events: 0, hosts: new CappedSet(256), ports: new CappedSet(8), fired: 0, sprayNamed: false };
          s.byService.set(service, sw);
        }
        sw.events += w;
        sw.hosts.add(dst);
        sw.ports.add(port);
        const high = service.minAttempts * settings.highFactor;
        // Repeated tries per host are what separates guessing from a sweep (one try per host).
        const repeated = sw.events >= sw.hosts.size * settings.minAttemptsPerHost;
        let severity: Severity | undefined;
        let kind = 'attempts';
        let thresholds: Record<string, number> = {
          events: service.minAttempts,
          attemptsPerHost: settings.minAttemptsPerHost,
          windowS: settings.windowS,
        };
        if (repeated && sw.events >= high && sw.fired < 3) {
          severity = 'high';
          thresholds = { ...thresholds, events: high };
          sw.fired = 3;
        } else if (repeated && sw.events >= service.minAttempts && sw.fired < 2) {
          severity = 'medium';
          sw.fired = 2;
        } else if (repeated && sw.fired === 0 && sw.hosts.size >= settings.sprayMinHosts) {
          severity = 'medium';
          thresholds = {
            distinctTargets: settings.sprayMinHosts,
            attemptsPerHost: settings.minAttemptsPerHost,
            windowS: settings.windowS,
          };
          sw.fired = 2;
        } else if (
          repeated &&
          sw.fired > 0 &&
          !sw.sprayNamed &&
          service.name !== 'Telnet' &&
          sw.hosts.size >= settings.sprayMinHosts
        ) {
          // Raised on one host's count, it has since spread: it is spraying. (Summaries arrive per
          // flow, so which comes first depends on summarising; the final alert must not.)
          sw.sprayNamed = true;
          const renamed = book.raise(src, tMs, {
            severity: 'medium',
            kind: 'spray',
            renames: true,
            thresholds,
            firstMs: s.startMs,
            events: sw.events,
            targets: sw.hosts.values(),
            detail: service.name,
          });
          if (renamed) out.push(renamed);
        }
        if (severity !== undefined) {
          // Telnet first: Mirai probing is the thing to name, however many hosts it reaches.
          if (service.name === 'Telnet') kind = 'telnet';
          else if (sw.hosts.size >= settings.sprayMinHosts) {
            kind = 'spray';
            sw.sprayNamed = true;
          }
          const raised = book.raise(src, tMs, {
            severity,
            kind,
            thresholds,
            firstMs: s.startMs,
            events: sw.events,
            targets: sw.hosts.values(),
            ports: sw.ports.values(),
            ...(e.proto !== undefined ? { protocols: [e.proto] } : {}),
            detail: service.name,
          });
          if (raised) out.push(raised);
        }
        return out;
      },
      flush(tMs: number): readonly Alert[] {
        sources.expire(tMs - windowMs);
        return book.flush(tMs);
      },
    };
  },
};
