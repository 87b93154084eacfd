/**
 * Floods, three ways, keyed by the address that suffers or misbehaves:
 *
 * - `rate`: a spike of inbound events towards one destination (a SYN or UDP flood), whatever the
 *   sources; keyed by the destination.
 * - `amplification`: UDP answers from a reflection-prone service port (chargen 19, DNS 53, NTP 123,
 *   SNMP 161, CLDAP 389, SSDP 1900, memcached 11211: the US-CERT TA14-017A list) arriving from many
 *   sources at one destination: someone is reflecting traffic at the member; keyed by the destination.
 * - `reflector`: one internal host sending UDP from one of those ports to the internet in volume,
 *   concentrated on few destinations: an open resolver, NTP or memcached server being abused to
 *   attack someone else; keyed by the internal host.
 *
 * A datagram from a service port to the same port (NTP 123 → 123, DNS 53 → 53) is a peer or a client
 * of the member's own server (ntpd polls from port 123), not an answer reflected at a victim's
 * port: a busy public NTP server receives hundreds of those a minute. It is not counted as
 * amplification. Trade-off: a reflection whose spoofed victim port is the service port itself is
 * missed (rare: attackers choose the victim port at random or aim at a listening one).
 *
 * The rate window slides (ten sub-window buckets, `SlidingCount`): a busy web server's steady
 * traffic would otherwise open a tumbling window a few seconds before a flood starts and cut the
 * flood in two halves, each under the threshold.
 *
 * A firewall under a real flood rate-limits its own logging, so the thresholds are what a log can
 * show (hundreds a second), not what a link carries.
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { alertBookFor, BoundedMap, CappedSet, labelNote, SlidingCount, span } from '../kit.js';

export interface FloodSettings extends CommonSettings {
  /** Inbound events to one destination within `windowS`. */
  readonly minEvents: number;
  readonly windowS: number;
  readonly amplificationPorts: readonly number[];
  /** Amplification: distinct sources and events towards one destination within `amplificationWindowS`. */
  readonly amplificationMinSources: number;
  readonly amplificationMinEvents: number;
  readonly amplificationWindowS: number;
  /** Reflector: events from one internal host's amplification port within `amplificationWindowS`… */
  readonly reflectorMinEvents: number;
  /** …averaging at least this many per destination (a busy public server spreads its answers). */
  readonly reflectorMinEventsPerTarget: number;
}

interface KeyWindow {
  startMs: number;
  lastMs: number;
  events: number;
  readonly peers: CappedSet<string>;
  readonly ports: CappedSet<number>;
  fired: boolean;
  /** The rate kind only: events over the last `windowS`, sliding. */
  sliding?: SlidingCount;
}

const NAME = 'flood';

function rollWindow(w: KeyWindow, tMs: number, windowMs: number): void {
  if (tMs - w.startMs >= windowMs) {
    w.startMs = tMs;
    w.events = 0;
    w.fired = false;
  }
  if (tMs > w.lastMs) w.lastMs = tMs;
}

function newWindow(tMs: number, peerCap: number): KeyWindow {
  return {
    startMs: tMs,
    lastMs: tMs,
    events: 0,
    peers: new CappedSet(peerCap),
    ports: new CappedSet(20),
    fired: false,
  };
}

export const flood: Detector<FloodSettings> = {
  name: NAME,
  description:
    'a spike of traffic at one of your addresses, reflected (amplification) floods, and your hosts used as reflectors',
  defaults: {
    minEvents: 3000,
    windowS: 10,
    amplificationPorts: [19, 53, 123, 161, 389, 1900, 11211],
    amplificationMinSources: 20,
    amplificationMinEvents: 500,
    amplificationWindowS: 60,
    reflectorMinEvents: 500,
    reflectorMinEventsPerTarget: 50,
    maxTrackedKeys: 10_000,
    cooldownS: 3600,
  },
  create(settings: FloodSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => {
      if (f.kind === 'reflector')
        return {
          summary: `Your host ${f.source} sent ${f.events} UDP packets from port ${f.ports.join(', ')} to ${f.distinctTargets} internet address(es) within ${span(f)}: it is being used to reflect a flood at someone else.`,
          advice: `Stop the service on port ${f.ports.join(', ')} answering the internet (an open DNS resolver, NTP, SNMP, SSDP or memcached), or block that port inbound at the firewall.`,
        };
      return {
        summary:
          f.kind === 'amplification'
            ? `${f.source} received ${f.events} UDP answers from ${f.distinctCapped ? 'at least ' : ''}${f.distinctTargets} internet servers (port ${f.ports.join(', ')}) within ${span(f)} that it never asked for: a reflected (amplification) flood.`
            : `${f.source} received ${f.events} connection attempts from ${f.distinctCapped ? 'at least ' : ''}${f.distinctTargets} source(s) within ${span(f)}: a flood.${labelNote(f)}`,
        advice:
          'If your internet connection or the service is slow, call your internet provider: floods are best filtered before they reach your line. Keep the firewall dropping the traffic and note the times.',
      };
    });
    const windowMs = settings.windowS * 1000;
    const ampWindowMs = settings.amplificationWindowS * 1000;
    const ampPorts = new Set(settings.amplificationPorts);
    const rate = new BoundedMap<KeyWindow>(settings.maxTrackedKeys, counters);
    const amplified = new BoundedMap<KeyWindow>(settings.maxTrackedKeys, counters);
    const reflecting = new BoundedMap<KeyWindow>(settings.maxTrackedKeys, counters);
    function fire(
      key: string,
      tMs: number,
      w: KeyWindow,
      kind: string,
      keyRole: 'source' | 'destination',
      thresholds: Record<string, number>,
    ): Alert | undefined {
      w.fired = true;
      return book.raise(key, tMs, {
        severity: kind === 'rate' ? 'medium' : 'high',
        kind,
        keyRole,
        thresholds,
        firstMs: w.startMs,
        events: w.events,
        targets: w.peers.values(),
        ports: w.ports.values(),
      });
    }
    return {
      counters,
      size: () => rate.size + amplified.size + reflecting.size + book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        const src = e.src_ip;
        const dst = e.dst_ip;
        if (src === undefined || dst === undefined) return;
        const w = facts.weight;
        const udpAmp =
          e.proto === 'udp' &&
          e.src_port !== undefined &&
          ampPorts.has(e.src_port) &&
          e.dst_port !== e.src_port;
        if (facts.srcExternal) {
          const extended = book.extend(dst, tMs, w, src, udpAmp ? e.src_port : e.dst_port, e.proto);
          if (extended) out.push(extended);
          const r =
            rate.touch(dst) ?? rate.add(dst, { ...newWindow(tMs, 256), sliding: new SlidingCount(windowMs) });
          if (tMs > r.lastMs) r.lastMs = tMs;
          r.events = r.sliding!.add(tMs, w);
          // Below half the threshold the burst is over: the next one may raise again.
          if (r.events < settings.minEvents / 2) {
            r.startMs = tMs;
            r.fired = false;
          }
          r.peers.add(src);
          if (e.dst_port !== undefined) r.ports.add(e.dst_port);
          if (!r.fired && r.events >= settings.minEvents) {
            const a = fire(dst, tMs, r, 'rate', 'destination', {
              events: settings.minEvents,
              windowS: settings.windowS,
            });
            if (a) out.push(a);
          }
          if (udpAmp) {
            const a = amplified.touch(dst) ?? amplified.add(dst, newWindow(tMs, 256));
            rollWindow(a, tMs, ampWindowMs);
            a.events += w;
            a.peers.add(src);
            a.ports.add(e.src_port!);
            if (
              !a.fired &&
              a.events >= settings.amplificationMinEvents &&
              a.peers.size >= settings.amplificationMinSources
            ) {
              const alert = fire(dst, tMs, a, 'amplification', 'destination', {
                events: settings.amplificationMinEvents,
                distinctSources: settings.amplificationMinSources,
                windowS: settings.amplificationWindowS,
              });
              if (alert) out.push(alert);
            }
          }
        } else if (udpAmp && facts.srcInternal && facts.dstExternal) {
          const extended = book.extend(src, tMs, w, dst, e.src_port, e.proto);
          if (extended) out.push(extended);
          const r = reflecting.touch(src) ?? reflecting.add(src, newWindow(tMs, 64));
          rollWindow(r, tMs, ampWindowMs);
          r.events += w;
          r.peers.add(dst);
          r.ports.add(e.src_port!);
          if (
            !r.fired &&
            r.events >= settings.reflectorMinEvents &&
            !r.peers.capped &&
            r.events >= r.peers.size * settings.reflectorMinEventsPerTarget
          ) {
            const alert = fire(src, tMs, r, 'reflector', 'source', {
              events: settings.reflectorMinEvents,
              eventsPerTarget: settings.reflectorMinEventsPerTarget,
              windowS: settings.amplificationWindowS,
            });
            if (alert) out.push(alert);
          }
        }
      },
      flush(tMs: number): readonly Alert[] {
        rate.expire(tMs - windowMs);
        amplified.expire(tMs - ampWindowMs);
        reflecting.expire(tMs - ampWindowMs);
        return book.flush(tMs);
      },
    };
  },
};
