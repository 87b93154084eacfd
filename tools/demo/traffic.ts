/**
 * Synthetic but realistic firewall traffic for the demo, tests and benchmarks: normal browsing from
 * a small office, a port scan, SSH/RDP brute force, mixed vendors, and a share of lines no firewall
 * parser should claim (other daemons' syslog, garbage). Formats follow the vendors' documentation.
 * Addresses are from the documentation ranges (RFC 5737, RFC 3849) and RFC 1918.
 */

/** mulberry32: a small seeded PRNG so every run of a test sees the same traffic. */
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function bsdDate(d: Date): string {
  const day = String(d.getUTCDate()).padStart(2, ' ');
  return `${MONTHS[d.getUTCMonth()]} ${day} ${d.toISOString().slice(11, 19)}`;
}

export type TrafficKind = 'browse' | 'scan' | 'bruteforce' | 'noise';

export interface TrafficOptions {
  readonly seed?: number;
  readonly now?: Date;
  /** Share of lines that are not firewall traffic (default 0.05). */
  readonly noiseShare?: number;
}

const INTERNAL = ['192.168.1.10', '192.168.1.11', '192.168.1.23', '192.168.1.40', '10.0.0.5', '10.0.0.17'];
const POPULAR = ['93.184.216.34', '198.51.100.20', '198.51.100.77', '203.0.113.80', '2001:db8:4860::8888'];
const ATTACKERS = ['203.0.113.5', '203.0.113.66', '198.51.100.200', '192.0.2.150'];
const SCAN_PORTS = [21, 22, 23, 25, 80, 110, 135, 139, 143, 443, 445, 1433, 3306, 3389, 5900, 8080, 8443];

export function generateTraffic(count: number, options: TrafficOptions = {}): string[] {
  const random = prng(options.seed ?? 42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const port = () => 1024 + Math.floor(random() * 64000);
  const base = (options.now ?? new Date()).getTime() - count * 5;
  const noiseShare = options.noiseShare ?? 0.05;
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const when = new Date(base + i * 5);
    const r = random();
    if (r < noiseShare) {
      lines.push(noise(when, random));
      continue;
    }
    const kind: TrafficKind = r < 0.6 ? 'browse' : r < 0.8 ? 'scan' : 'bruteforce';
    const vendor = random();
    if (kind === 'browse') {
      const src = pick(INTERNAL);
      const dst = pick(POPULAR);
      const dport = pick([443, 443, 443, 80, 53]);
      const proto = dport === 53 ? 'udp' : 'tcp';
      if (vendor < 0.5) lines.push(fortigate(when, src, port(), dst, dport, proto, 'close', random));
      else if (vendor < 0.8)
        lines.push(netfilter(when, 'ACCEPT', 'eth1', 'eth0', src, dst, proto, port(), dport));
      else lines.push(pfsense(when, 'pass', 'out', src, dst, proto, port(), dport));
    } else {
      const src = pick(ATTACKERS);
      const dst = '198.51.100.10';
      const dport = kind === 'scan' ? pick(SCAN_PORTS) : pick([22, 3389]);
      if (vendor < 0.5) lines.push(netfilter(when, 'UFW BLOCK', 'eth0', '', src, dst, 'tcp', port(), dport));
      else if (vendor < 0.75) lines.push(pfsense(when, 'block', 'in', src, dst, 'tcp', port(), dport));
      else lines.push(ciscoAsaDeny(when, src, port(), dst, dport));
    }
  }
  return lines;
}

function netfilter(
  when: Date,
  prefix: string,
  inIf: string,
  outIf: string,
  src: string,
  dst: string,
  proto: 'tcp' | 'udp',
  sport: number,
  dport: number,
): string {
  const v6 = src.includes(':') || dst.includes(':');
  const ipFields = v6 ? 'LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0' : 'LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=54321 DF';
  const tcp = proto === 'tcp' ? ' WINDOW=64240 RES=0x00 SYN URGP=0' : ' LEN=40';
  return (
    `<4>${bsdDate(when)} gw kernel: [${prefix}] IN=${inIf} OUT=${outIf} MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 ` +
    `SRC=${src} DST=${dst} ${ipFields} PROTO=${proto.toUpperCase()} SPT=${sport} DPT=${dport}${tcp}`
  );
}

function pfsense(
  when: Date,
  action: string,
  dir: string,
  src: string,
  dst: string,
  proto: 'tcp' | 'udp',
  sport: number,
  dport: number,
) {
  const v6 = src.includes(':') || dst.includes(':');
  const protoId = proto === 'tcp' ? 6 : 17;
  const ip = v6
    ? `6,0x00,0x00000,64,${proto},${protoId},40,${src},${dst}`
    : `4,0x0,,64,12345,0,DF,${protoId},${proto},60,${src},${dst}`;
  const tail = proto === 'tcp' ? `,${sport},${dport},0,S,1234567890,,64240,,mss` : `,${sport},${dport},20`;
  return `<134>${bsdDate(when)} pfsense filterlog[4242]: 5,,,1000000103,igb0,match,${action},${dir},${ip}${tail}`;
}

function fortigate(
  when: Date,
  src: string,
  sport: number,
  dst: string,
  dport: number,
  proto: 'tcp' | 'udp',
  action: string,
  random: () => number,
): string {
  const date = when.toISOString().slice(0, 10);
  const time = when.toISOString().slice(11, 19);
  const sent = 200 + Math.floor(random() * 5000);
  const rcvd = 500 + Math.floor(random() * 50000);
  return (
    `<189>date=${date} time=${time} devname="FGT60F" devid="FGT60FTK19000000" logid="0000000013" type="traffic" ` +
    `subtype="forward" level="notice" vd="root" tz="+0000" srcip=${src} srcport=${sport} srcintf="internal" ` +
    `srcintfrole="lan" dstip=${dst} dstport=${dport} dstintf="wan1" dstintfrole="wan" proto=${proto === 'tcp' ? 6 : 17} ` +
    `action="${action}" policyid=1 policytype="policy" service="HTTPS" duration=12 sentbyte=${sent} rcvdbyte=${rcvd} ` +
    `sentpkt=${Math.ceil(sent / 500)} rcvdpkt=${Math.ceil(rcvd / 1400)}`
  );
}

function ciscoAsaDeny(when: Date, src: string, sport: number, dst: string, dport: number): string {
  return (
    `<164>${bsdDate(when)} asa01 : %ASA-4-106023: Deny tcp src outside:${src}/${sport} dst inside:${dst}/${dport} ` +
    'by access-group "OUTSIDE_IN" [0x0, 0x0]'
  );
}

function noise(when: Date, random: () => number): string {
  const samples = [
    `<38>${bsdDate(when)} gw sshd[2211]: Connection closed by authenticating user admin 203.0.113.5 port 50522 [preauth]`,
    `<30>${bsdDate(when)} gw systemd[1]: Started Daily apt download activities.`,
    `<86>${bsdDate(when)} gw CRON[3144]: pam_unix(cron:session): session opened for user root`,
    'complete garbage \u0001\u0002 that is not syslog at all',
    `<13>${bsdDate(when)} printer01 lpd: job 42 <script>alert(1)</script> finished`,
  ];
  return samples[Math.floor(random() * samples.length)]!;
}
