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
 *
 * Slow spraying: real sprayers go slowly on purpose, one try per account every few minutes or per
 * half hour, to stay under lockout thresholds, so nothing shows within 300 s. A second, long window
 * per source and service (`slowWindowS`, 6 h) catches it by volume and spread together: at least
 * `slowSprayMinHosts` hosts, `slowSprayMinAttempts` attempts in all and `slowMinAttemptsPerHost` on
 * average. What separates it from a member's admin who logs in to six servers a few times a day from
 * home is the product hosts × attempts: the admin makes tens of connections, a sprayer hundreds.
 * What it cannot separate is the member's own automation from outside (a configuration-management
 * or backup server that logs in to ten hosts every half hour): that looks the same in a connection
 * log, and belongs on the `detectIgnore` list. The slow window is one small record per source and
 * service in a capped map, like the fast one.
 *
 * Web ports (the SSL-VPN entry: 443, 10443, 4433) are special. 443 is every web server's port, and a
 * SYN flood at it is thousands of "attempts" in seconds. A VPN portal brute force is sustained
 * guessing: minutes of attempts at a moderate rate. So for a service with `minSpanS`, attempts count
 * only once they span at least `minSpanS` and average at most `maxRatePerS` over that span; a source
 * at hundreds a second is a flood (the flood detector's), not guessing. Span and rate come from the
 * events' own times (a summary's `ts` and `last_seen`), so summaries give the same answer. Trade-off:
 * a guesser faster than `maxRatePerS` on 443 (50/s, far above what a portal's log-in answers) is
 * missed here, and below the flood detector's 300/s it is missed there too. Web ports also never
 * count as spraying: a visitor's browser opens a few connections to each of a member's web servers.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert, Severity } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { alertBookFor, BoundedMap, CappedSet, labelNote, looksLikeReply, span } from '../kit.js';

export interface BruteForceService {
  readonly name: string;
  readonly ports: readonly number[];
  /** Attempts from one source within `windowS` that make a brute force. */
  readonly minAttempts: number;
  /** Web-based services only: attempts count once they span this long (a burst is a flood)… */
  readonly minSpanS?: number;
  /** …at an average of at most this many a second over that span. */
  readonly maxRatePerS?: number;
  /** False: spreading over hosts is not spraying (web ports: browsers reach several web servers). */
  readonly spray?: boolean;
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
  /** The slow spraying window: per source and service, tumbling from its first attempt. */
  readonly slowWindowS: number;
  readonly slowSprayMinHosts: number;
  readonly slowSprayMinAttempts: number;
  readonly slowMinAttemptsPerHost: number;
}

// Ports: IANA service-names registry; SSL-VPN portals: Fortinet (10443), SonicWall/others (4433).
const SERVICES: readonly BruteForceService[] = [
  { name: 'SSH', ports: [22], minAttempts: 20 },
  { name: 'RDP', ports: [3389], minAttempts: 10 },
  { name: 'SMB', ports: [445, 139], minAttempts: 10 },
  { name: 'VNC', ports: [5900, 5901, 5902, 5903], minAttempts: 10 },
  { name: 'Telnet', ports: [23, 2323], minAttempts: 5 },
  { name: 'FTP', ports: [21], minAttempts: 20 },
  {
    name: 'SSL-VPN',
    ports: [443, 10443, 4433],
    minAttempts: 300,
    minSpanS: 120,
    maxRatePerS: 50,
    spray: false,
  },
  { name: 'IKE VPN', ports: [500, 4500], minAttempts: 30 },
  { name: 'mail submission', ports: [587, 465], minAttempts: 30 },
];

interface ServiceWindow {
  events: number;
  firstMs: number;
  /** Latest event time seen (a summary's `last_seen` included). */
  lastMs: number;
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

/** One source's attempts at one service over the slow window (keyed `service|source`). */
interface SlowWindow {
  startMs: number;
  lastMs: number;
  events: number;
  hosts: CappedSet<string>;
  fired: boolean;
}

/** The weight of an event towards a service's threshold: zero while a web port's burst is a flood. */
function sustained(service: BruteForceService, sw: ServiceWindow): boolean {
  if (service.minSpanS === undefined) return true;
  const spanS = (sw.lastMs - sw.firstMs) / 1000;
  if (spanS < service.minSpanS) return false;
  return service.maxRatePerS === undefined || sw.events / spanS <= service.maxRatePerS;
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
    slowWindowS: 6 * 3600,
    slowSprayMinHosts: 10,
    slowSprayMinAttempts: 100,
    slowMinAttemptsPerHost: 4,
    maxTrackedKeys: 10_000,
    cooldownS: 3600,
  },
  create(settings: BruteForceSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary:
        f.kind === 'spray' || f.kind === 'slow-spray'
          ? `${f.source} tried to log in to ${f.detail} on ${f.distinctTargets} of your hosts, a few times each (${f.events} attempts over ${span(f)}${f.kind === 'slow-spray' ? ', spread out as if to stay under lock-out limits' : ''}): password spraying.${labelNote(f)}`
          : f.detail === 'Telnet'
            ? `${f.source} made ${f.events} Telnet connection attempts to ${f.targets.join(', ')} over ${span(f)}: the pattern of Mirai-style botnets trying default passwords on routers, cameras and other devices.${labelNote(f)}`
            : `${f.source} made ${f.events} connection attempts to ${f.detail} on ${f.targets.join(', ')} over ${span(f)}: someone is trying to guess a password.${labelNote(f)}`,
      advice:
        f.detail === 'Telnet'
          ? 'Telnet should never be reachable from the internet: block ports 23 and 2323 at the firewall, and change the default password on every device that has one.'
          : `If ${f.detail} does not need to be reachable from the internet, close it at the firewall or put it behind a VPN. If it does, use strong unique passwords and multi-factor authentication, and check the service's log for successful log-ins from this address.`,
    }));
    const windowMs = settings.windowS * 1000;
    const byPort = new Map<number, BruteForceService>();
    for (const s of settings.services) for (const p of s.ports) byPort.set(p, s);
    const slowWindowMs = settings.slowWindowS * 1000;
    const sources = new BoundedMap<SourceState>(settings.maxTrackedKeys, counters);
    const slow = new BoundedMap<SlowWindow>(settings.maxTrackedKeys, counters);
    /** The slow spraying window: hosts × attempts over hours. */
    function observeSlow(
      src: string,
      dst: string,
      service: BruteForceService,
      tMs: number,
      w: number,
      proto: string | undefined,
    ): Alert | undefined {
      const key = `${service.name}|${src}`;
      const sl =
        slow.touch(key) ??
        slow.add(key, { startMs: tMs, lastMs: tMs, events: 0, hosts: new CappedSet(256), fired: false });
      if (tMs - sl.startMs >= slowWindowMs) {
        sl.startMs = tMs;
        sl.events = 0;
        sl.fired = false;
        sl.hosts = new CappedSet(256);
      }
      if (tMs > sl.lastMs) sl.lastMs = tMs;
      sl.events += w;
      sl.hosts.add(dst);
      // Past 256 hosts the per-host average is unknown: so wide a reach is a sweep (horizontal-scan's).
      if (
        sl.fired ||
        sl.hosts.capped ||
        sl.hosts.size < settings.slowSprayMinHosts ||
        sl.events < settings.slowSprayMinAttempts ||
        sl.events < sl.hosts.size * settings.slowMinAttemptsPerHost
      )
        return undefined;
      sl.fired = true;
      // Already alerted (by the fast window's count or spread): that alert goes on, as it is.
      if (book.isOpen(src, tMs)) return undefined;
      return book.raise(src, tMs, {
        severity: 'medium',
        kind: 'slow-spray',
        thresholds: {
          distinctTargets: settings.slowSprayMinHosts,
          events: settings.slowSprayMinAttempts,
          attemptsPerHost: settings.slowMinAttemptsPerHost,
          windowS: settings.slowWindowS,
        },
        firstMs: sl.startMs,
        events: sl.events,
        targets: sl.hosts.values(),
        ...(proto !== undefined ? { protocols: [proto] } : {}),
        detail: service.name,
      });
    }
    return {
      counters,
      size: () => sources.size + slow.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        const src = e.src_ip;
        const dst = e.dst_ip;
        const port = e.dst_port;
        if (!facts.srcExternal || src === undefined || dst === undefined || port === undefined) return;
        const service = byPort.get(port);
        if (service === undefined || looksLikeReply(e)) return;
        const w = facts.weight;
        const extended = book.extend(src, tMs, w, dst, port, e.proto);
        if (extended) out.push(extended);
        const s = sources.touch(src) ?? sources.add(src, { startMs: tMs, lastMs: tMs, byService: new Map() });
        if (tMs - s.startMs >= windowMs) {
          s.startMs = tMs;
          s.byService.clear();
        }
        s.lastMs = Math.max(s.lastMs, tMs);
        // A summary stands for events up to its `last_seen`: the span a web port's rule measures.
        const lastSeen = w > 1 && e.last_seen !== undefined ? Date.parse(e.last_seen) : Number.NaN;
        const lastMs = Number.isFinite(lastSeen) && lastSeen > tMs ? lastSeen : tMs;
        let sw = s.byService.get(service);
        if (sw === undefined) {
          sw = {
            events: 0,
            firstMs: tMs,
            lastMs,
            hosts: new CappedSet(256),
            ports: new CappedSet(8),
            fired: 0,
            sprayNamed: false,
          };
          s.byService.set(service, sw);
        }
        if (tMs < sw.firstMs) sw.firstMs = tMs;
        if (lastMs > sw.lastMs) sw.lastMs = lastMs;
        sw.events += w;
        sw.hosts.add(dst);
        sw.ports.add(port);
        const high = service.minAttempts * settings.highFactor;
        // Repeated tries per host are what separates guessing from a sweep (one try per host).
        const repeated = sw.events >= sw.hosts.size * settings.minAttemptsPerHost && sustained(service, sw);
        const sprays = service.spray !== false;
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
        } else if (repeated && sprays && sw.fired === 0 && sw.hosts.size >= settings.sprayMinHosts) {
          severity = 'medium';
          thresholds = {
            distinctTargets: settings.sprayMinHosts,
            attemptsPerHost: settings.minAttemptsPerHost,
            windowS: settings.windowS,
          };
          sw.fired = 2;
        } else if (
          repeated &&
          sprays &&
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
          else if (sprays && sw.hosts.size >= settings.sprayMinHosts) {
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
        if (sprays) {
          const slowAlert = observeSlow(src, dst, service, tMs, w, e.proto);
          if (slowAlert) out.push(slowAlert);
        }
      },
      flush(tMs: number): readonly Alert[] {
        sources.expire(tMs - windowMs);
        slow.expire(tMs - slowWindowMs);
        return book.flush(tMs);
      },
    };
  },
};
