/**
 * Fortinet FortiGate (FortiOS) key=value logs, from the "FortiOS Log Message Reference": traffic
 * (forward, local, multicast, sniffer), UTM (ips, webfilter, virus, anomaly, app-ctrl, dns, ...)
 * and event logs, plus FortiOS's CEF form (`CEF:0|Fortinet|Fortigate|...`).
 *
 * Traffic `action` values are session outcomes: `accept`, `close`, `timeout`, `server-rst`,
 * `client-rst` all describe a session the policy allowed; `deny` one it refused. NAT: `transip`/
 * `transport` are the translated source (SNAT), `tranip`/`tranport` the translated destination.
 */
import type { Action } from '../../../protocol/event.js';
import { vendorAction } from '../kit/action.js';
import { parseIp } from '../kit/address.js';
import { cefStart, cefToDraft, cefVendorProduct, parseCef } from '../kit/cef-format.js';
import { type EventDraft, finishAsWritten, put, refuse } from '../kit/draft.js';
import { parseKeyValuesInto } from '../kit/key-values.js';
import { parsePort, sumCounts } from '../kit/number.js';
import { normaliseProto } from '../kit/proto.js';
import { epochAnyToIso, parseLooseDate, zoneOffset } from '../kit/time.js';
import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';

const NAME = 'fortinet_fortigate';

/** FortiOS action words beyond the common ones, by the Log Message Reference's meaning. */
const FORTI_ACTIONS: Readonly<Record<string, Action>> = {
  'ip-conn': 'other', // the session could not be set up (unreachable), not a policy decision
  dns: 'other',
  'perf-stats': 'other',
  detected: 'other',
  monitored: 'other',
  analytics: 'other',
  exempted: 'allow',
  exempt: 'allow',
  blocked: 'deny',
  block: 'deny',
  dropped: 'drop',
  'reset-client': 'reject',
  'reset-server': 'reject',
  reset: 'reject',
  'pass-session': 'allow',
  'drop-session': 'drop',
  'reset-session': 'reject',
  // Anomaly (DoS policy) logs: the sensor cleared or passed a session; not a policy verdict.
  clear_session: 'other',
};

function fortiAction(word: string | undefined): Action {
  if (word === undefined || word === '') return 'other';
  return FORTI_ACTIONS[word.toLowerCase()] ?? vendorAction(word);
}

/** Which body to read: FortiOS lines sometimes keep a syslog header the header parser left. */
function kvBody(msg: SyslogMessage): string {
  const m = msg.msg;
  if (
    m.startsWith('date=') ||
    m.startsWith('logver=') ||
    m.startsWith('timestamp=') ||
    m.startsWith('itime=')
  )
    return m;
  const at = m.indexOf('date=');
  if (at > 0 && m.charCodeAt(at - 1) === 32) return m.slice(at);
  return m;
}

/**
 * The pair separator: FortiOS writes spaces, but "Log in CSV format" (`set format csv`) writes
 * commas. Told apart by the character that ends the first value.
 */
function kvSeparator(body: string): string {
  const eq = body.indexOf('=');
  if (eq < 0) return ' ';
  const space = body.indexOf(' ', eq);
  const comma = body.indexOf(',', eq);
  return comma > 0 && (space < 0 || comma < space) ? ',' : ' ';
}

/**
 * The keys the traffic/UTM/event reading looks at, each with its index in `kv`: a line carries some
 * 30 pairs and no map of them is built, only these values are kept.
 */
const K = {
  eventtime: 0,
  date: 1,
  time: 2,
  tz: 3,
  timestamp: 4,
  itime: 5,
  type: 6,
  logid: 7,
  log_id: 8,
  srcip: 9,
  src: 10,
  remip: 11,
  ip: 12,
  userip: 13,
  ui: 14,
  dstip: 15,
  dst: 16,
  locip: 17,
  proto: 18,
  srcport: 19,
  src_port: 20,
  remport: 21,
  dstport: 22,
  dst_port: 23,
  locport: 24,
  action: 25,
  utmaction: 26,
  transip: 27,
  trans_src: 28,
  transport: 29,
  trans_src_port: 30,
  tranip: 31,
  trans_dst: 32,
  tranport: 33,
  trans_dst_port: 34,
  sentbyte: 35,
  rcvdbyte: 36,
  ibytes: 37,
  obytes: 38,
  sentpkt: 39,
  rcvdpkt: 40,
  policyname: 41,
  policyid: 42,
  policy: 43,
  srcintf: 44,
  srcintfrole: 45,
  dstintfrole: 46,
  direction: 47,
  attack: 48,
  virus: 49,
  catdesc: 50,
  app: 51,
  subtype: 52,
  severity: 53,
  crlevel: 54,
  level: 55,
} as const;
const SLOTS: ReadonlyMap<string, number> = new Map(Object.entries(K));
/** Values of the line being parsed, by `K` (parsing is synchronous: one line at a time). */
const kv: (string | undefined)[] = new Array(SLOTS.size).fill(undefined);

// The last `zonedIso` inputs and result: a device logs in time order, so most lines repeat the
// previous line's date, time and zone.
let lastDate: string | undefined;
let lastTime: string | undefined;
let lastZone: string | undefined;
let lastZonedIso: string | undefined;

/** ISO-8601 for FortiOS's local `date` and `time` in zone `tz`; undefined when any is missing or bad. */
function zonedIso(
  date: string | undefined,
  time: string | undefined,
  tz: string | undefined,
): string | undefined {
  if (date === undefined || time === undefined) return undefined;
  if (date === lastDate && time === lastTime && tz === lastZone) return lastZonedIso;
  const offset = zoneOffset(tz);
  const iso = offset !== undefined ? parseLooseDate(`${date} ${time} ${offset}`) : undefined;
  lastDate = date;
  lastTime = time;
  lastZone = tz;
  lastZonedIso = iso;
  return iso;
}

/**
 * The event time: `eventtime` (epoch in s, ms, µs or ns since FortiOS 6.2: the exact instant),
 * else `date`+`time`+`tz`, else FortiAnalyzer's `timestamp`/`itime`, else the device's local date
 * and time read as UTC, else the header's.
 */
function fortiTime(
  values: readonly (string | undefined)[],
  headerTs: string | undefined,
): string | undefined {
  const eventtime = values[K.eventtime];
  if (eventtime !== undefined) {
    const iso = epochAnyToIso(eventtime);
    if (iso !== undefined) return iso;
  }
  const date = values[K.date];
  const time = values[K.time];
  const zoned = zonedIso(date, time, values[K.tz]);
  if (zoned !== undefined) return zoned;
  const dated = date !== undefined && time !== undefined ? `${date} ${time}` : undefined;
  const epoch = values[K.timestamp] ?? values[K.itime];
  if (epoch !== undefined) {
    const iso = epochAnyToIso(epoch);
    if (iso !== undefined) return iso;
  }
  return (dated !== undefined ? parseLooseDate(dated) : undefined) ?? headerTs;
}

/** The address in `GUI(1.2.3.4)`, `ssh(1.2.3.4)`, `https(10.0.0.1)` (admin event `ui`/`sproc`). */
function ipInParens(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const open = value.indexOf('(');
  if (open < 0) return parseIp(value);
  const close = value.indexOf(')', open);
  return close > open ? parseIp(value.slice(open + 1, close)) : undefined;
}

const UTM_TYPES = new Set([
  'utm',
  'ips',
  'virus',
  'webfilter',
  'anomaly',
  'app-ctrl',
  'dlp',
  'emailfilter',
  'attack',
]);

function parseKv(msg: SyslogMessage): ParseResult {
  const body = kvBody(msg);
  parseKeyValuesInto(body, kvSeparator(body), SLOTS, kv);
  const type = kv[K.type];
  if (type === undefined && kv[K.logid] === undefined && kv[K.log_id] === undefined)
    return refuse('no FortiOS type= or logid= field');
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  put(ev, 'ts', fortiTime(kv, msg.ts));
  // Traffic and UTM logs name srcip/dstip; VPN events remip/locip; endpoint events ip; admin
  // events only the client in `ui`; FortiADC/FortiWeb-style logs src/dst.
  put(
    ev,
    'src_ip',
    parseIp(kv[K.srcip] ?? kv[K.src] ?? kv[K.remip] ?? kv[K.ip] ?? kv[K.userip]) ?? ipInParens(kv[K.ui]),
  );
  put(ev, 'dst_ip', parseIp(kv[K.dstip] ?? kv[K.dst] ?? kv[K.locip]));
  put(ev, 'proto', normaliseProto(kv[K.proto]));
  put(ev, 'src_port', parsePort(kv[K.srcport] ?? kv[K.src_port] ?? kv[K.remport]));
  put(ev, 'dst_port', parsePort(kv[K.dstport] ?? kv[K.dst_port] ?? kv[K.locport]));
  ev.action = fortiAction(kv[K.action]);
  // A session the policy accepted but in which a UTM profile blocked content.
  if (ev.action === 'allow' && type === 'traffic') {
    const utm = kv[K.utmaction];
    if (utm === 'block' || utm === 'blocked') ev.action = 'deny';
  } else if (kv[K.action] === undefined) ev.action = fortiAction(kv[K.utmaction]);
  put(ev, 'src_nat_ip', parseIp(kv[K.transip] ?? kv[K.trans_src]));
  put(ev, 'src_nat_port', parsePort(kv[K.transport] ?? kv[K.trans_src_port]));
  put(ev, 'dst_nat_ip', parseIp(kv[K.tranip] ?? kv[K.trans_dst]));
  put(ev, 'dst_nat_port', parsePort(kv[K.tranport] ?? kv[K.trans_dst_port]));
  put(ev, 'bytes', sumCounts(kv[K.sentbyte], kv[K.rcvdbyte]) ?? sumCounts(kv[K.ibytes], kv[K.obytes]));
  put(ev, 'packets', sumCounts(kv[K.sentpkt], kv[K.rcvdpkt]));
  put(ev, 'rule', (kv[K.policyname] ?? kv[K.policyid] ?? kv[K.policy])?.slice(0, 128));
  put(ev, 'interface', kv[K.srcintf]?.slice(0, 64));
  // Interface roles say where the traffic came from: from the WAN is inbound, to it outbound. UTM
  // logs' own `direction` is relative to the session (client to server), used only without roles.
  const from = kv[K.srcintfrole];
  const to = kv[K.dstintfrole];
  if (from === 'wan' && to !== 'wan' && to !== undefined) ev.direction = 'in';
  else if (to === 'wan' && from !== 'wan' && from !== undefined) ev.direction = 'out';
  else if (from === undefined || from === 'undefined') {
    const dir = kv[K.direction];
    if (dir === 'incoming' || dir === 'inbound') ev.direction = 'in';
    else if (dir === 'outgoing' || dir === 'outbound') ev.direction = 'out';
  }
  if (type !== undefined && UTM_TYPES.has(type)) {
    const category = kv[K.attack] ?? kv[K.virus] ?? kv[K.catdesc] ?? kv[K.app] ?? kv[K.subtype];
    put(ev, 'category', category?.slice(0, 64));
    put(ev, 'severity', (kv[K.severity] ?? kv[K.crlevel] ?? kv[K.level])?.slice(0, 32));
  }
  return finishAsWritten(ev);
}

/** FortiOS CEF prefixes its own fields with `FTNTFGT` (or `FortinetFortiGate`); 7.x also plain. */
function fortiField(x: Map<string, string>, name: string): string | undefined {
  return x.get(`FTNTFGT${name}`) ?? x.get(`FortinetFortiGate${name}`) ?? x.get(name);
}

function parseFortiCef(msg: SyslogMessage): ParseResult {
  const rec = parseCef(msg.msg) ?? parseCef(msg.raw);
  if (rec === undefined) return refuse('malformed Fortinet CEF header');
  const ev: EventDraft = { vendor: NAME, action: 'other' };
  cefToDraft(rec, ev, msg.ts);
  const x = rec.ext;
  const eventtime = fortiField(x, 'eventtime');
  const exact = eventtime !== undefined ? epochAnyToIso(eventtime) : undefined;
  if (exact !== undefined) ev.ts = exact;
  else {
    // `start`/`rt` are the device's local time; `tz` says which.
    const tz = zoneOffset(fortiField(x, 'tz'));
    const local = x.get('rt') ?? x.get('start');
    if (tz !== undefined && local !== undefined && !/^\d+$/.test(local))
      put(ev, 'ts', parseLooseDate(`${local} ${tz}`));
  }
  const act = x.get('act') ?? fortiField(x, 'action');
  ev.action = act !== undefined ? fortiAction(act) : 'other';
  if (ev.src_ip === undefined)
    put(ev, 'src_ip', ipInParens(x.get('sproc')) ?? parseIp(fortiField(x, 'remip')));
  if (ev.src_nat_ip === undefined) put(ev, 'src_nat_ip', parseIp(fortiField(x, 'transip')));
  if (ev.dst_nat_ip === undefined) put(ev, 'dst_nat_ip', parseIp(fortiField(x, 'tranip')));
  if (ev.rule === undefined)
    put(ev, 'rule', (fortiField(x, 'policyname') ?? fortiField(x, 'policyid'))?.slice(0, 128));
  // `cat` is the log type (`traffic:forward`, `event:system`); a threat category only for UTM.
  const isUtm = x.get('cat')?.startsWith('utm') === true;
  delete ev.category;
  delete ev.severity;
  if (isUtm) {
    put(ev, 'category', (fortiField(x, 'attack') ?? fortiField(x, 'virus') ?? x.get('cat'))?.slice(0, 64));
    put(
      ev,
      'severity',
      (fortiField(x, 'severity') ?? fortiField(x, 'crlevel') ?? fortiField(x, 'level'))?.slice(0, 32),
    );
  }
  return finishAsWritten(ev);
}

function isFortinetCef(msg: SyslogMessage): boolean {
  const vp = cefVendorProduct(msg.msg) ?? cefVendorProduct(msg.raw);
  return (
    vp?.vendor.toLowerCase().startsWith('fortinet') === true &&
    vp.product.toLowerCase().startsWith('fortigate')
  );
}

/** `m` holds `logid=` or `log_id=`; both searches start at the first `log`, most lines have none. */
function hasLogId(m: string): boolean {
  const log = m.indexOf('log');
  return log >= 0 && (m.includes('logid=', log) || m.includes('log_id=', log));
}

export const family: ParserFamily = {
  name: NAME,
  products: ['Fortinet FortiGate (FortiOS)', 'FortiWiFi'],
  detect(msg: SyslogMessage): number {
    const m = msg.msg;
    if (cefStart(m) >= 0 || cefStart(msg.raw) >= 0) return isFortinetCef(msg) ? 0.9 : 0;
    if (!hasLogId(m)) return 0;
    if (m.includes('devid="FG') || m.includes('devid=FG') || m.includes('devid="FW')) return 0.95;
    if (m.includes('type=') && (m.includes('devname=') || m.includes('subtype='))) return 0.85;
    return 0.5;
  },
  parse(msg: SyslogMessage): ParseResult {
    if (isFortinetCef(msg)) return parseFortiCef(msg);
    return parseKv(msg);
  },
};
