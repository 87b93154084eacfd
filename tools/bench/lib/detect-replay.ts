/**
 * A labelled syslog replay for the detection benchmark: raw lines from four firewall families the
 * parser supports (netfilter LOG, FortiGate traffic key=value, pfSense filterlog CSV, Cisco ASA),
 * each shaped like the family's own fixtures in `appliance/parse/families/<family>.jsonl`, in time
 * order over several hours, with a label for every attack and for every background-noise source.
 *
 * Deterministic for a seed (mulberry32), so a run is repeatable and a cached file stays valid.
 *
 * Addresses (so nothing here is anybody's real host):
 * - attackers and single external peers: the RFC 5737 documentation blocks 203.0.113.0/24 and
 *   198.51.100.0/24; the sites' public addresses, resolvers and NTP servers: 192.0.2.0/24;
 * - the many distinct external addresses (web clients, sites browsed, background probes, amplifying
 *   reflectors, worm targets): 198.18.0.0/15 (RFC 2544, reserved for benchmarking and never routed on
 *   the internet). It has 131,072 addresses where the documentation blocks have 768, and unlike
 *   100.64.0.0/10 (CGNAT, RFC 6598) the minimiser counts it as external, as it would a real one;
 * - a few IPv6 probes from 2001:db8::/32 (RFC 3849) to a ULA server (fd00::/8, internal);
 * - internal hosts: RFC 1918, one range per site.
 *
 * Besides ordinary traffic, each site carries hard benign cases, unlabelled, on which any alert is a
 * false positive: a busy outbound web proxy (lan .5, thousands of internet sites on 80/443), the
 * member's own vulnerability scanner (lan .7 scanning DMZ ports and sweeping the LAN, internal to
 * internal), a monitoring system (lan .6) polling DMZ servers by SNMP and ping every 5 minutes, a
 * public NTP server (dmz .223) with a pool rush of ntpd clients polling from port 123, and big mail
 * senders delivering bursts on 25. Attacks include an SSL-VPN brute force on 443 (session-log
 * families), the sustained counterpart of the SYN flood on 80/443.
 */

export const REPLAY_FAMILIES = ['netfilter', 'fortinet_fortigate', 'pfsense', 'cisco_asa'] as const;
export type ReplayFamily = (typeof REPLAY_FAMILIES)[number];

export const LABEL_KINDS = [
  'horizontal-scan',
  'vertical-scan',
  'slow-scan',
  'brute-force',
  'flood',
  'amplification',
  'reflector',
  'worm-fanout',
  'denied-outbound',
  'beaconing',
  'exposed-service',
  'protocol-scan',
  'background',
] as const;
export type LabelKind = (typeof LABEL_KINDS)[number];

export interface ReplayLabel {
  /** The address the detection is about, in clear (internal addresses too). */
  readonly source: string;
  /** Other addresses an alert for this label may name as its source instead (the victim of a flood,
   * the reflectors of an amplification, the clients of an exposed server). */
  readonly aliases: readonly string[];
  readonly kind: LabelKind;
  /** Finer name of the scenario, e.g. `ssh-brute-force`, `rdp-password-spraying`. */
  readonly scenario: string;
  readonly family: ReplayFamily;
  readonly internal: boolean;
  /** An alert of this kind on this source is right, but missing it is no miss (e.g. a worm's fan-out
   * is also a horizontal scan). Not counted for recall. */
  readonly optional: boolean;
  readonly targets: number;
  readonly ports: number;
  firstMs: number;
  lastMs: number;
  lines: number;
}

export interface DetectReplay {
  readonly seed: number;
  readonly year: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly lines: readonly string[];
  /** Per line: index into `REPLAY_FAMILIES`. */
  readonly lineFamily: Uint8Array;
  /** Per line: index into `labels`, or -1 for benign traffic. */
  readonly lineLabel: Int32Array;
  /** Per line: the time written in it, epoch ms. */
  readonly lineTimeMs: Float64Array;
  readonly labels: readonly ReplayLabel[];
}

export interface ReplayOptions {
  readonly seed?: number;
  /** Total lines (attacks are fixed in shape; benign traffic fills the rest). */
  readonly lines?: number;
  readonly hours?: number;
  /** Start of the replay, UTC; the year-less families need `--year` of this date. */
  readonly start?: Date;
}

export const DEFAULT_REPLAY_LINES = 200_000;

type Proto = 'tcp' | 'udp' | 'icmp' | number;

/** One logged connection or packet, before it is written in a family's format. */
interface Conn {
  ts: number;
  family: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto: Proto;
  allow: boolean;
  /** Arrived from the internet side (inbound) or leaves for it (outbound). */
  inbound: boolean;
  bytes: number;
  label: number;
}

/** mulberry32: tiny, fast, good enough for traffic shapes, and the same in every Node version. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function v4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** RFC 3164 date: `Mmm dd hh:mm:ss`, day padded with a space. */
function bsdDate(ms: number): string {
  const d = new Date(ms);
  const day = d.getUTCDate();
  return `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : day} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** A site: one firewall of one family, its internal ranges and servers. */
interface Site {
  readonly family: number;
  readonly host: string;
  readonly wan: string;
  /** Workstations browse and resolve. */
  readonly lan: readonly string[];
  /** `prefix` + n for servers and scan targets. */
  readonly dmzPrefix: string;
  readonly lanPrefix: string;
}

const SITE_SHAPES: readonly { host: string; wan: string; lan: string; dmz: string }[] = [
  { host: 'gw', wan: '192.0.2.10', lan: '192.168.1.', dmz: '192.168.50.' },
  { host: 'FGT60F-Site', wan: '192.0.2.20', lan: '10.10.1.', dmz: '10.10.100.' },
  { host: 'pfSense', wan: '192.0.2.30', lan: '172.16.5.', dmz: '172.16.50.' },
  { host: 'asa01', wan: '192.0.2.40', lan: '10.20.1.', dmz: '10.20.100.' },
];

const RESOLVERS = ['192.0.2.53', '192.0.2.54'];
const NTP_SERVERS = ['192.0.2.123', '192.0.2.124'];
const NOISE_PORTS = [
  23, 22, 445, 3389, 80, 8080, 5060, 1433, 3306, 5900, 2323, 81, 8443, 6379, 9200, 25, 161,
];
const SERVICE_NAMES: Readonly<Record<number, string>> = {
  22: 'SSH',
  25: 'SMTP',
  53: 'DNS',
  80: 'HTTP',
  123: 'NTP',
  443: 'HTTPS',
  445: 'SMB',
  3389: 'RDP',
};
/** IP protocol numbers and their /etc/protocols names (pfSense writes the name). */
const IP_PROTOCOLS: readonly [number, string][] = [
  [2, 'igmp'],
  [3, 'ggp'],
  [4, 'ipencap'],
  [5, 'st'],
  [8, 'egp'],
  [9, 'igp'],
  [12, 'pup'],
  [20, 'hmp'],
  [22, 'xns-idp'],
  [27, 'rdp'],
  [29, 'iso-tp4'],
  [33, 'dccp'],
  [36, 'xtp'],
  [37, 'ddp'],
  [38, 'idpr-cmtp'],
  [41, 'ipv6'],
  [43, 'ipv6-route'],
  [44, 'ipv6-frag'],
  [45, 'idrp'],
  [46, 'rsvp'],
  [47, 'gre'],
  [50, 'esp'],
  [51, 'ah'],
  [57, 'skip'],
  [73, 'rspf'],
  [81, 'vmtp'],
  [88, 'eigrp'],
  [89, 'ospf'],
  [93, 'ax.25'],
  [94, 'ipip'],
  [97, 'etherip'],
  [98, 'encap'],
  [103, 'pim'],
  [108, 'ipcomp'],
  [112, 'vrrp'],
  [115, 'l2tp'],
  [124, 'isis'],
  [132, 'sctp'],
  [133, 'fc'],
  [136, 'udplite'],
  [137, 'mpls-in-ip'],
  [139, 'hip'],
  [140, 'shim6'],
  [142, 'rohc'],
];
const PROTOCOL_NAME = new Map(IP_PROTOCOLS);

export function generateDetectReplay(options: ReplayOptions = {}): DetectReplay {
  const seed = options.seed ?? 1;
  const totalLines = options.lines ?? DEFAULT_REPLAY_LINES;
  const hours = options.hours ?? 8;
  const startMs = (options.start ?? new Date(Date.UTC(2026, 2, 10, 8, 0, 0))).getTime();
  const spanMs = hours * 3_600_000;
  const endMs = startMs + spanMs;
  const random = prng(seed);

  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number): boolean => random() < p;
  const ephemeral = (): number => int(32768, 60999);
  /** Zipf-like index into n items: a few popular, a long tail. */
  const skewed = (n: number): number => Math.min(n - 1, Math.floor(n * random() ** 2.2));

  // Unique external addresses: documentation blocks for attackers, 198.18.0.0/15 for crowds.
  const usedDoc = new Set<number>();
  const docBases = [(203 << 24) | (113 << 8), (198 << 24) | (51 << 16) | (100 << 8)].map((b) => b >>> 0);
  const attacker = (): string => {
    for (;;) {
      const n = (docBases[int(0, 1)]! + int(1, 199)) >>> 0;
      if (!usedDoc.has(n)) {
        usedDoc.add(n);
        return v4(n);
      }
    }
  };
  const usedCrowd = new Set<number>();
  const crowdBase = ((198 << 24) | (18 << 16)) >>> 0;
  const crowd = (): string => {
    for (;;) {
      const offset = int(0, 131_071);
      const low = offset & 255;
      if (low === 0 || low === 255 || usedCrowd.has(offset)) continue;
      usedCrowd.add(offset);
      return v4((crowdBase + offset) >>> 0);
    }
  };

  const sites: Site[] = SITE_SHAPES.map((shape, family) => {
    const lan: string[] = [];
    for (let i = 0; i < 40; i++) lan.push(`${shape.lan}${20 + i}`);
    return { family, host: shape.host, wan: shape.wan, lan, dmzPrefix: shape.dmz, lanPrefix: shape.lan };
  });

  const conns: Conn[] = [];
  const labels: ReplayLabel[] = [];
  const label = (
    site: Site,
    kind: LabelKind,
    scenario: string,
    source: string,
    extra: { aliases?: string[]; optional?: boolean; internal?: boolean } = {},
  ): number => {
    labels.push({
      source,
      aliases: extra.aliases ?? [],
      kind,
      scenario,
      family: REPLAY_FAMILIES[site.family]!,
      internal: extra.internal ?? false,
      optional: extra.optional ?? false,
      targets: 0,
      ports: 0,
      firstMs: 0,
      lastMs: 0,
      lines: 0,
    });
    return labels.length - 1;
  };
  const add = (
    site: Site,
    ts: number,
    src: string,
    sport: number,
    dst: string,
    dport: number,
    proto: Proto,
    allow: boolean,
    inbound: boolean,
    bytes: number,
    labelIndex = -1,
  ): void => {
    if (ts < startMs || ts >= endMs) return;
    conns.push({
      ts,
      family: site.family,
      src,
      sport,
      dst,
      dport,
      proto,
      allow,
      inbound,
      bytes,
      label: labelIndex,
    });
  };
  /** Any time in the replay. */
  const at = (): number => startMs + Math.floor(random() * spanMs);
  /** A start time leaving `durationMs` before the end. */
  const startWithin = (durationMs: number): number =>
    startMs + Math.floor(random() * Math.max(1, spanMs - durationMs - 60_000));

  // ---- attacks: one set per site, so every family carries every kind it can express ----
  for (const site of sites) {
    const family = REPLAY_FAMILIES[site.family];
    const packetLog = family === 'netfilter' || family === 'pfsense';
    const dmz = (n: number): string => `${site.dmzPrefix}${n}`;

    // Fast vertical scan: 300-1000 ports of one host within a couple of minutes (nmap -T4).
    {
      const src = attacker();
      const dst = dmz(int(60, 90));
      const l = label(site, 'vertical-scan', 'fast-vertical-scan', src);
      const ports = int(300, 1000);
      const first = int(1, 1024 - Math.min(ports, 1000) + 1);
      let t = startWithin(300_000);
      const sport = ephemeral();
      for (let p = 0; p < ports; p++) {
        t += int(20, 250);
        add(site, t, src, sport, dst, first + p, 'tcp', false, true, 44, l);
      }
    }
    // Slow vertical scan: one port every 2-5 minutes for hours (below any per-minute threshold).
    {
      const src = attacker();
      const dst = dmz(int(60, 90));
      const l = label(site, 'slow-scan', 'slow-vertical-scan', src);
      const ports = [...new Set(Array.from({ length: 120 }, () => int(1, 10_000)))].slice(0, int(70, 100));
      let t = startWithin(ports.length * 240_000);
      for (const port of ports) {
        t += int(120_000, 240_000);
        add(site, t, src, ephemeral(), dst, port, 'tcp', false, true, 44, l);
      }
    }
    // Horizontal sweep: one port across 150-250 hosts of the LAN and DMZ ranges.
    {
      const src = attacker();
      const port = pick([23, 3389, 5900, 8080, 22, 445]);
      const l = label(site, 'horizontal-scan', `horizontal-sweep-${port}`, src);
      const hosts = int(150, 250);
      let t = startWithin(600_000);
      for (let h = 1; h <= hosts; h++) {
        t += int(50, 2000);
        const dst = `${site.lanPrefix}${h}`;
        add(site, t, src, ephemeral(), dst, port, 'tcp', false, true, 44, l);
      }
    }
    // IP protocol scan (nmap -sO): many IP protocol numbers at one host, no ports.
    if (family !== 'fortinet_fortigate') {
      const src = attacker();
      const dst = dmz(int(60, 90));
      const l = label(site, 'protocol-scan', 'ip-protocol-scan', src);
      let t = startWithin(120_000);
      for (const [number] of IP_PROTOCOLS) {
        t += int(100, 1500);
        add(site, t, src, 0, dst, 0, number, false, true, 20, l);
      }
    }
    // Brute force: SSH (packet logs) or RDP (session logs) at one exposed host, allowed, 300-600
    // attempts over 20-40 minutes.
    {
      const src = attacker();
      const port = packetLog ? 22 : 3389;
      const dst = dmz(22);
      const l = label(site, 'brute-force', port === 22 ? 'ssh-brute-force' : 'rdp-brute-force', src);
      // The target is reachable from the internet, so exposure alerts about it are true too.
      label(site, 'exposed-service', `exposed-${port}`, dst, { internal: true, optional: true });
      const attempts = int(300, 600);
      const durationMs = int(20, 40) * 60_000;
      let t = startWithin(durationMs);
      for (let a = 0; a < attempts; a++) {
        t += Math.floor(durationMs / attempts) + int(-500, 500);
        add(site, t, src, ephemeral(), dst, port, 'tcp', true, true, int(2000, 6000), l);
      }
    }
    // Password spraying: a few attempts at each of 20-30 hosts, same service, over an hour.
    {
      const src = attacker();
      const port = packetLog ? 3389 : 22;
      const l = label(
        site,
        'brute-force',
        port === 22 ? 'ssh-password-spraying' : 'rdp-password-spraying',
        src,
      );
      label(site, 'horizontal-scan', 'spraying-is-also-a-sweep', src, { optional: true });
      const hosts = int(20, 30);
      const durationMs = 3_600_000;
      const t0 = startWithin(durationMs);
      for (let h = 0; h < hosts; h++) {
        const dst = dmz(100 + h);
        label(site, 'exposed-service', `exposed-${port}`, dst, { internal: true, optional: true });
        for (let a = int(8, 15); a > 0; a--) {
          add(
            site,
            t0 + int(0, durationMs),
            src,
            ephemeral(),
            dst,
            port,
            'tcp',
            true,
            true,
            int(1500, 5000),
            l,
          );
        }
      }
    }
    // SSL-VPN portal brute force (the session-log families, whose firewalls are the usual portals):
    // sustained guessing at the portal on the firewall's own address, port 443, 1-3 attempts a
    // second for 15-30 minutes (the flood below is hundreds a second for seconds).
    if (!packetLog) {
      const src = attacker();
      const l = label(site, 'brute-force', 'sslvpn-brute-force', src);
      const durationMs = int(15, 30) * 60_000;
      const perSecond = int(1, 3);
      const attempts = Math.round((durationMs / 1000) * perSecond);
      let t = startWithin(durationMs);
      for (let a = 0; a < attempts; a++) {
        t += int(1, Math.round(2000 / perSecond));
        add(site, t, src, ephemeral(), site.wan, 443, 'tcp', true, true, int(3000, 8000), l);
      }
    }
    // SYN flood from one address at one host, as a firewall that rate-limits its logging still shows
    // it: 400-600 lines a second for 10-20 s.
    {
      const src = attacker();
      const dst = dmz(10);
      const port = pick([80, 443]);
      const allow = family === 'fortinet_fortigate' || family === 'pfsense';
      const l = label(site, 'flood', 'syn-flood', src, { aliases: [dst] });
      const perSecond = int(400, 600);
      const packets = int(10, 20) * perSecond;
      let t = startWithin(60_000);
      for (let p = 0; p < packets; p++) {
        t += int(1, Math.round(2000 / perSecond) - 1);
        add(site, t, src, ephemeral(), dst, port, 'tcp', allow, true, 40, l);
      }
    }
    // UDP amplification at one internal host: 300-400 reflectors answer from 53/123/1900/11211, 4-8
    // answers each within 30-90 s (a reflected flood, thinned by the firewall's log rate limit).
    {
      const victim = `${site.lanPrefix}${int(60, 59 + site.lan.length)}`;
      const reflectors = Array.from({ length: int(300, 400) }, () => crowd());
      const l = label(site, 'amplification', 'udp-amplification-inbound', victim, {
        aliases: reflectors,
        internal: true,
      });
      const durationMs = int(30, 90) * 1000;
      const t0 = startWithin(durationMs);
      const servicePort = pick([53, 123, 1900, 11211]);
      for (const reflector of reflectors) {
        for (let k = int(4, 8); k > 0; k--) {
          const sport = chance(0.8) ? servicePort : pick([53, 123, 1900, 11211]);
          add(
            site,
            t0 + int(0, durationMs),
            reflector,
            sport,
            victim,
            ephemeral(),
            'udp',
            false,
            true,
            int(1200, 1500),
            l,
          );
        }
      }
    }
    // An internal host used as a reflector: spoofed queries in, large answers out to one victim,
    // 20-40 answers a second for 2-4 minutes.
    if (packetLog) {
      const reflector = dmz(53);
      const victim = attacker();
      const port = pick([123, 53]);
      const l = label(site, 'reflector', port === 123 ? 'ntp-reflector' : 'dns-reflector', reflector, {
        aliases: [victim],
        internal: true,
      });
      const durationMs = int(120, 240) * 1000;
      const t0 = startWithin(durationMs);
      const answers = Math.round((int(20, 40) * durationMs) / 1000);
      for (let a = 0; a < answers; a++) {
        const t = t0 + Math.floor((a * durationMs) / answers);
        const victimPort = int(1024, 65535);
        if (a % 4 === 0) add(site, t - 2, victim, victimPort, reflector, port, 'udp', true, true, 76, l);
        add(site, t, reflector, port, victim, victimPort, 'udp', true, false, int(400, 480), l);
      }
    }
    // Worm fan-out: an internal host tries SMB at 200-500 internet addresses in minutes, denied.
    {
      const host = site.lan[int(30, 39)]!;
      const l = label(site, 'worm-fanout', 'smb-worm-fanout', host, { internal: true });
      label(site, 'horizontal-scan', 'worm-is-also-a-sweep', host, { internal: true, optional: true });
      label(site, 'denied-outbound', 'worm-is-also-denied', host, { internal: true, optional: true });
      const targets = int(200, 500);
      let t = startWithin(900_000);
      for (let k = 0; k < targets; k++) {
        t += int(200, 2500);
        add(site, t, host, ephemeral(), crowd(), 445, 'tcp', false, false, 52, l);
      }
    }
    // Repeated denied outbound: one host retries a blocked destination every 30 s-3 min for hours.
    {
      const host = site.lan[int(15, 29)]!;
      const dst = attacker();
      const port = pick([6667, 4444, 25, 1080]);
      const l = label(site, 'denied-outbound', `denied-outbound-${port}`, host, {
        aliases: [dst],
        internal: true,
      });
      let t = startWithin(4 * 3_600_000);
      const until = t + int(3, 4) * 3_600_000;
      while (t < until) {
        t += int(30_000, 180_000);
        add(site, t, host, ephemeral(), dst, port, 'tcp', false, false, 60, l);
      }
    }
    // Beaconing: every 60 s ± 2 % to one address on 443 for 4-6 hours, from a host that also browses.
    {
      const host = site.lan[int(0, 14)]!;
      const c2 = attacker();
      const l = label(site, 'beaconing', 'https-beacon-60s', host, { aliases: [c2], internal: true });
      let t = startWithin(6 * 3_600_000);
      const until = t + int(4, 6) * 3_600_000;
      while (t < until) {
        t += 60_000 + int(-1200, 1200);
        add(site, t, host, ephemeral(), c2, 443, 'tcp', true, false, int(900, 1100), l);
      }
    }
    // Exposed service: a few allowed RDP sessions from the internet to one internal host.
    {
      const server = dmz(33);
      const client = attacker();
      const l = label(site, 'exposed-service', 'exposed-rdp', server, { aliases: [client], internal: true });
      for (let s = int(4, 10); s > 0; s--) {
        add(site, at(), client, ephemeral(), server, 3389, 'tcp', true, true, int(40_000, 900_000), l);
      }
    }
  }

  // ---- benign traffic and background noise, filling the rest of the line budget ----
  const attackLines = conns.length;
  const benign = Math.max(0, totalLines - attackLines);
  const perSite = Math.floor(benign / sites.length);
  const sitesBrowsed = Array.from({ length: 3000 }, () => crowd());
  for (const site of sites) {
    const budget = site.family === sites.length - 1 ? benign - perSite * (sites.length - 1) : perSite;
    const before = conns.length;
    const web = `${site.dmzPrefix}10`;
    const mail = `${site.dmzPrefix}25`;
    // Background noise: 9 % of lines, 1-3 denied probes per source, from many distinct sources.
    const noiseTarget = before + Math.floor(budget * 0.09);
    while (conns.length < noiseTarget) {
      const v6 = REPLAY_FAMILIES[site.family] === 'netfilter' && chance(0.05);
      // Written as the kernel prints it, so the label names the address the way alerts will.
      const src = v6
        ? fullV6(`2001:db8:${int(1, 0xfffe).toString(16)}::${int(1, 0xfffe).toString(16)}`)
        : crowd();
      const l = label(site, 'background', 'internet-background-probe', src);
      let t = at();
      for (let k = int(1, 3); k > 0; k--) {
        const dst = v6 ? 'fd00:10::10' : chance(0.5) ? site.wan : `${site.dmzPrefix}${int(1, 254)}`;
        const proto: Proto = chance(0.1) ? 'udp' : 'tcp';
        add(
          site,
          t,
          src,
          ephemeral(),
          dst,
          pick(NOISE_PORTS),
          proto,
          false,
          true,
          proto === 'tcp' ? 40 : 60,
          l,
        );
        t += int(1000, 600_000);
      }
    }
    const webTarget = conns.length + Math.floor(budget * 0.34);
    while (conns.length < webTarget) {
      const client = chance(0.3) ? sitesBrowsed[skewed(sitesBrowsed.length)]! : crowd();
      let t = at();
      for (let k = int(1, 6); k > 0; k--) {
        add(site, t, client, ephemeral(), web, 443, 'tcp', true, true, int(2_000, 400_000));
        t += int(200, 30_000);
      }
    }
    const mailTarget = conns.length + Math.floor(budget * 0.04);
    while (conns.length < mailTarget) {
      if (chance(0.7)) add(site, at(), crowd(), ephemeral(), mail, 25, 'tcp', true, true, int(3000, 90_000));
      else add(site, at(), mail, ephemeral(), pick(sitesBrowsed), 25, 'tcp', true, false, int(3000, 90_000));
    }
    // Big senders (a mail provider's outbound relays) delivering in bursts to the mail server.
    const heavyMailTarget = conns.length + Math.floor(budget * 0.015);
    while (conns.length < heavyMailTarget) {
      const sender = crowd();
      let t = at();
      for (let k = int(20, 120); k > 0 && conns.length < heavyMailTarget; k--) {
        add(site, t, sender, ephemeral(), mail, 25, 'tcp', true, true, int(3000, 90_000));
        t += int(500, 60_000);
      }
    }
    const ntpTarget = conns.length + Math.floor(budget * 0.02);
    while (conns.length < ntpTarget) {
      add(site, at(), pick(site.lan), 123, pick(NTP_SERVERS), 123, 'udp', true, false, 76);
    }
    const dnsTarget = conns.length + Math.floor(budget * 0.14);
    while (conns.length < dnsTarget) {
      add(site, at(), pick(site.lan), ephemeral(), pick(RESOLVERS), 53, 'udp', true, false, int(60, 300));
    }
    // ---- hard benign cases (none may raise an alert; see the Detection section of PERFORMANCE.md) ----
    const packetLog =
      REPLAY_FAMILIES[site.family] === 'netfilter' || REPLAY_FAMILIES[site.family] === 'pfsense';
    // A busy outbound web proxy: one internal host reaching thousands of internet sites on 80/443
    // (now and then 8080/8443) for everyone in the office; a few blocked categories denied.
    const proxy = `${site.lanPrefix}5`;
    const proxyTarget = conns.length + Math.floor(budget * 0.06);
    while (conns.length < proxyTarget) {
      const dst = chance(0.5) ? sitesBrowsed[skewed(sitesBrowsed.length)]! : crowd();
      const port = chance(0.8) ? 443 : chance(0.8) ? 80 : pick([8080, 8443]);
      const allow = !chance(0.003);
      add(site, at(), proxy, ephemeral(), dst, port, 'tcp', allow, false, allow ? int(1000, 3_000_000) : 60);
    }
    // The member's own vulnerability scanner (an internal host) scanning the DMZ from the LAN: 100-300
    // ports on each of 6-10 servers, then a sweep of five ports across the LAN range, within about an
    // hour; the firewall between the zones logs it, mostly denied.
    {
      const scanner = `${site.lanPrefix}7`;
      const scanTarget = conns.length + Math.floor(budget * 0.04);
      let t = startWithin(3_600_000);
      for (let h = int(6, 10); h > 0 && conns.length < scanTarget; h--) {
        const dst = `${site.dmzPrefix}${int(1, 99)}`;
        for (let p = int(100, 300); p > 0 && conns.length < scanTarget; p--) {
          t += int(5, 60);
          add(site, t, scanner, ephemeral(), dst, p, 'tcp', chance(0.05), false, 44);
        }
      }
      for (const port of [22, 80, 443, 445, 3389]) {
        for (let h = 1; h <= 120 && conns.length < scanTarget; h++) {
          t += int(20, 200);
          add(site, t, scanner, ephemeral(), `${site.lanPrefix}${h}`, port, 'tcp', chance(0.3), false, 44);
        }
      }
    }
    // A monitoring system polling DMZ servers every 5 minutes with SNMP (161/udp) and ping, and now and
    // then receiving a trap (162/udp): as many servers as the budget allows for the whole replay.
    {
      const monitor = `${site.lanPrefix}6`;
      const rounds = Math.floor(spanMs / 300_000);
      const polled = Math.max(2, Math.min(30, Math.floor((budget * 0.06) / (2 * rounds))));
      let round = startMs + int(0, 300_000);
      for (; round < endMs; round += 300_000) {
        for (let i = 1; i <= polled; i++) {
          const host = `${site.dmzPrefix}${i}`;
          const when = round + i * 150 + int(0, 100);
          add(site, when, monitor, ephemeral(), host, 161, 'udp', true, false, 90);
          add(site, when + 40, monitor, 0, host, 0, 'icmp', true, false, 84);
          if (chance(0.01))
            add(site, when + int(1000, 60_000), host, ephemeral(), monitor, 162, 'udp', true, false, 200);
        }
      }
    }
    // The member's public NTP server (a pool member) answering internet clients. ntpd clients poll from
    // port 123 every 64-1024 s, SNTP/chrony clients from a random port; packet logs show the answers
    // too. Once in the replay the pool sends it a rush of new clients: 200-300 within a minute, each
    // with an iburst of 6-8 requests 2 s apart (thousands of datagrams from port 123 in a minute).
    {
      const ntp = `${site.dmzPrefix}223`;
      const ntpServerTarget = conns.length + Math.floor(budget * 0.03);
      const poll = (client: string, ntpd: boolean, t: number, count: number, periodMs: number): void => {
        const sport = ntpd ? 123 : ephemeral();
        for (let k = 0; k < count && conns.length < ntpServerTarget; k++, t += periodMs + int(-50, 50)) {
          add(site, t, client, sport, ntp, 123, 'udp', true, true, 76);
          if (packetLog) add(site, t + int(1, 30), ntp, 123, client, sport, 'udp', true, false, 76);
        }
      };
      const rush = startWithin(60_000);
      for (let c = int(200, 300); c > 0 && conns.length < ntpServerTarget; c--) {
        poll(crowd(), chance(0.6), rush + int(0, 60_000), int(6, 8), 2000);
      }
      while (conns.length < ntpServerTarget) {
        const ntpd = chance(0.6);
        const periodMs = ntpd ? pick([64, 128, 256, 1024]) * 1000 : int(300, 3600) * 1000;
        poll(crowd(), ntpd, at(), int(3, 40), periodMs);
      }
    }
    // Browsing fills the rest: hosts of unequal activity, popular sites more often; now and then a
    // blocked category (a denied outbound that is not repeated).
    const end = before + budget;
    while (conns.length < end) {
      const host = site.lan[skewed(site.lan.length)]!;
      const dst = sitesBrowsed[skewed(sitesBrowsed.length)]!;
      const port = chance(0.85) ? 443 : 80;
      const allow = !chance(0.004);
      add(site, at(), host, ephemeral(), dst, port, 'tcp', allow, false, allow ? int(1000, 2_000_000) : 60);
    }
  }

  conns.sort((a, b) => a.ts - b.ts);
  const lines: string[] = new Array(conns.length);
  const lineFamily = new Uint8Array(conns.length);
  const lineLabel = new Int32Array(conns.length);
  const lineTimeMs = new Float64Array(conns.length);
  const renderers = sites.map((site) => renderer(site, startMs, random));
  const labelTargets = labels.map(() => new Set<string>());
  const labelPorts = labels.map(() => new Set<number>());
  for (let i = 0; i < conns.length; i++) {
    const c = conns[i]!;
    lines[i] = renderers[c.family]!(c);
    lineFamily[i] = c.family;
    lineLabel[i] = c.label;
    lineTimeMs[i] = c.ts;
    if (c.label >= 0) {
      const l = labels[c.label]!;
      if (l.lines === 0) l.firstMs = c.ts;
      l.lastMs = c.ts;
      l.lines++;
      labelTargets[c.label]!.add(c.src === l.source ? c.dst : c.src);
      labelPorts[c.label]!.add(c.dport);
    }
  }
  // A label that names no lines of its own (the exposure of a brute-forced server, the sweep a worm
  // also is) takes the labelled lines its address appears in.
  const involved = new Map<string, { lines: number; firstMs: number; lastMs: number }>();
  for (const c of conns) {
    if (c.label < 0) continue;
    for (const address of [c.src, c.dst]) {
      const entry = involved.get(address);
      if (entry === undefined) involved.set(address, { lines: 1, firstMs: c.ts, lastMs: c.ts });
      else {
        entry.lines++;
        entry.lastMs = c.ts;
      }
    }
  }
  const finished = labels.map((l, i) => {
    const borrowed = l.lines === 0 ? involved.get(l.source) : undefined;
    return {
      ...l,
      ...(borrowed ?? {}),
      targets: labelTargets[i]!.size,
      ports: labelPorts[i]!.size,
    };
  });
  // One label per (kind, source): a duplicate (a host given the same role twice) merges into the first.
  const seen = new Map<string, number>();
  const out: ReplayLabel[] = [];
  const remap = new Int32Array(finished.length).fill(-1);
  for (let i = 0; i < finished.length; i++) {
    const l = finished[i]!;
    const key = `${l.kind} ${l.source}`;
    const first = seen.get(key);
    if (first !== undefined) {
      remap[i] = first;
      out[first]!.lines += l.lines;
      continue;
    }
    seen.set(key, out.length);
    remap[i] = out.length;
    out.push(l);
  }
  for (let i = 0; i < lineLabel.length; i++) if (lineLabel[i]! >= 0) lineLabel[i] = remap[lineLabel[i]!]!;
  return {
    seed,
    year: new Date(startMs).getUTCFullYear(),
    startMs,
    endMs,
    lines,
    lineFamily,
    lineLabel,
    lineTimeMs,
    labels: out,
  };
}

/** Writes connections in one site's family format, shaped like that family's fixtures. */
function renderer(site: Site, startMs: number, random: () => number): (c: Conn) => string {
  const family = REPLAY_FAMILIES[site.family];
  const id = (): number => Math.floor(random() * 65_536);
  let session = 100_000 + Math.floor(random() * 100_000);
  const isV6 = (a: string): boolean => a.includes(':');
  switch (family) {
    case 'netfilter': {
      // A router's iptables LOG rules with prefixes `DROP`/`ACCEPT` (as psad and DD-WRT write them),
      // kernel uptime counting from boot 4 days before the replay.
      const bootSeconds = 4 * 86_400 + 1234.5;
      return (c) => {
        const uptime = (bootSeconds + (c.ts - startMs) / 1000).toFixed(6);
        const prefix = c.allow ? 'ACCEPT' : 'DROP';
        // Packets for the firewall itself (its WAN address) pass INPUT, the rest FORWARD.
        const ifaces = !c.inbound
          ? 'IN=eth1 OUT=eth0'
          : c.dst === site.wan
            ? 'IN=eth0 OUT='
            : 'IN=eth0 OUT=eth1';
        const v6 = isV6(c.src);
        const mac = `MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:${v6 ? '86:dd' : '08:00'}`;
        let body: string;
        if (v6) {
          // The kernel prints IPv6 addresses in full (%pI6), group by group.
          body = `SRC=${fullV6(c.src)} DST=${fullV6(c.dst)} LEN=${c.bytes + 20} TC=0 HOPLIMIT=${50 + (id() % 14)} FLOWLBL=0`;
        } else {
          body = `SRC=${c.src} DST=${c.dst} LEN=${packetLength(c)} TOS=0x00 PREC=0x00 TTL=${40 + (id() % 24)} ID=${id()}${c.proto === 'tcp' ? ' DF' : ''}`;
        }
        let tail: string;
        if (c.proto === 'tcp') {
          tail = `PROTO=TCP SPT=${c.sport} DPT=${c.dport} WINDOW=${c.inbound ? 1024 : 64240} RES=0x00 SYN URGP=0`;
        } else if (c.proto === 'udp') {
          tail = `PROTO=UDP SPT=${c.sport} DPT=${c.dport} LEN=${Math.max(8, Math.min(c.bytes, 1500) - 20)}`;
        } else if (c.proto === 'icmp') {
          tail = `PROTO=ICMP TYPE=8 CODE=0 ID=${id()} SEQ=1`;
        } else {
          tail = `PROTO=${c.proto}`;
        }
        return `${bsdDate(c.ts)} ${site.host} kernel: [${uptime}] ${prefix} ${ifaces} ${mac} ${body} ${tail}`;
      };
    }
    case 'fortinet_fortigate':
      // FortiOS traffic log (type=traffic subtype=forward), one line per session.
      return (c) => {
        session++;
        const proto = c.proto === 'tcp' ? 6 : c.proto === 'udp' ? 17 : c.proto === 'icmp' ? 1 : c.proto;
        const [srcintf, srcrole, dstintf, dstrole] = c.inbound
          ? ['wan1', 'wan', 'dmz', 'dmz']
          : ['internal', 'lan', 'wan1', 'wan'];
        const service = SERVICE_NAMES[c.dport] ?? `${c.proto === 'udp' ? 'udp' : 'tcp'}/${c.dport}`;
        const head =
          `<189>date=${isoDate(c.ts)} time=${isoTime(c.ts)} devname="${site.host}" devid="FGT60FTK20000042" ` +
          `eventtime=${c.ts}000000 tz="+0000" logid="0000000013" type="traffic" subtype="forward" level="notice" ` +
          `vd="root" srcip=${c.src} srcport=${c.sport} srcintf="${srcintf}" srcintfrole="${srcrole}" ` +
          `dstip=${c.dst} dstport=${c.dport} dstintf="${dstintf}" dstintfrole="${dstrole}" sessionid=${session} proto=${proto}`;
        if (!c.allow) {
          return `${head} action="deny" policyid=0 policytype="policy" service="${service}" trandisp="noop" duration=0 sentbyte=0 rcvdbyte=0 sentpkt=0 appcat="unscanned"`;
        }
        const sent = Math.max(40, Math.floor(c.bytes / 8));
        const nat = c.inbound
          ? `trandisp="dnat" tranip=${c.dst} tranport=${c.dport}`
          : `trandisp="snat" transip=${site.wan} transport=${c.sport}`;
        return `${head} action="${c.proto === 'udp' ? 'accept' : 'close'}" policyid=${c.inbound ? 7 : 3} policytype="policy" service="${service}" ${nat} duration=${1 + (id() % 120)} sentbyte=${sent} rcvdbyte=${c.bytes - sent} sentpkt=${1 + Math.floor(sent / 500)} rcvdpkt=${1 + Math.floor((c.bytes - sent) / 1200)} appcat="unscanned"`;
      };
    case 'pfsense':
      // filterlog CSV (Netgate "Filter Log Format"), WAN interface igb0, the default block rule's
      // tracker for blocks and a pass rule's for passes.
      return (c) => {
        const action = c.allow ? 'pass' : 'block';
        const [rule, tracker] = c.allow ? [70, 1594924577] : [5, 1000000103];
        const common = `<134>${bsdDate(c.ts)} pfSense filterlog[4242]: ${rule},,,${tracker},igb0,match,${action},${c.inbound ? 'in' : 'out'},4,0x0,,${40 + (id() % 24)},${id()},0`;
        const length = packetLength(c);
        if (c.proto === 'tcp') {
          return `${common},DF,6,tcp,${length},${c.src},${c.dst},${c.sport},${c.dport},0,S,${id() * 65_536 + id()},,${c.inbound ? 1024 : 64240},,mss;sackOK;TS;nop;wscale`;
        }
        if (c.proto === 'udp') {
          return `${common},none,17,udp,${length},${c.src},${c.dst},${c.sport},${c.dport},${Math.max(8, length - 20)}`;
        }
        if (c.proto === 'icmp') return `${common},none,1,icmp,84,${c.src},${c.dst},request,${id()},1`;
        return `${common},none,${c.proto},${PROTOCOL_NAME.get(c.proto) ?? c.proto},${length},${c.src},${c.dst},datalength=${Math.max(0, length - 20)}`;
      };
    case 'cisco_asa':
      // ASA with `logging timestamp` (year included): 106023 for ACL denies, 106006 for the UDP an
      // amplification sends (no connection), 302013/302015 for connections built.
      return (c) => {
        const d = new Date(c.ts);
        const head = `<166>${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())} ${d.getUTCFullYear()} ${isoTime(c.ts)}:`;
        const proto = typeof c.proto === 'number' ? `protocol ${c.proto}` : c.proto;
        if (!c.allow) {
          if (c.inbound && c.proto === 'udp' && [53, 123, 1900, 11211].includes(c.sport)) {
            return `${head} %ASA-2-106006: Deny inbound UDP from ${c.src}/${c.sport} to ${c.dst}/${c.dport} on interface outside`;
          }
          const [from, to, acl] = c.inbound
            ? ['outside', 'inside', 'outside_access_in']
            : ['inside', 'outside', 'inside_access_in'];
          const ports = typeof c.proto === 'number' || c.proto === 'icmp';
          const src = ports ? c.src : `${c.src}/${c.sport}`;
          const dst = ports ? c.dst : `${c.dst}/${c.dport}`;
          return `${head} %ASA-4-106023: Deny ${proto} src ${from}:${src} dst ${to}:${dst} by access-group "${acl}" [0x0, 0x0]`;
        }
        session++;
        const upper = c.proto === 'udp' ? 'UDP' : 'TCP';
        const message = c.proto === 'udp' ? '302015' : '302013';
        if (c.inbound) {
          return `${head} %ASA-6-${message}: Built inbound ${upper} connection ${session} for outside:${c.src}/${c.sport} (${c.src}/${c.sport}) to dmz:${c.dst}/${c.dport} (${site.wan}/${c.dport})`;
        }
        return `${head} %ASA-6-${message}: Built outbound ${upper} connection ${session} for outside:${c.dst}/${c.dport} (${c.dst}/${c.dport}) to inside:${c.src}/${c.sport} (${site.wan}/${c.sport})`;
      };
    default:
      throw new Error(`no renderer for family ${family}`);
  }
}

/** `2001:db8::1` as `2001:0db8:0000:0000:0000:0000:0000:0001`. */
function fullV6(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

/** A packet log shows the first packet of a connection: a TCP SYN's 60 bytes, a datagram's own size. */
function packetLength(c: Conn): number {
  return c.proto === 'tcp' ? (c.inbound ? 44 : 60) : Math.min(c.bytes, 1500);
}

/** The replay's lines of one family, in order (e.g. the iptables part for a netfilter-only tool). */
export function familyLines(replay: DetectReplay, family: ReplayFamily): string[] {
  const index = REPLAY_FAMILIES.indexOf(family);
  const out: string[] = [];
  for (let i = 0; i < replay.lines.length; i++)
    if (replay.lineFamily[i] === index) out.push(replay.lines[i]!);
  return out;
}
