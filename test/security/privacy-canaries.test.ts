/**
 * The privacy boundary end to end, for every parser family: fixture lines with canary strings in
 * every free-text position (user names, URLs, host names, messages, the syslog header's host name,
 * empty CSV columns, text appended to the line) go through the agent's real pipeline (parse →
 * minimise → summarise) into the real LMDB outbox; the sealed batches are decoded as central decodes
 * them, and no canary may appear anywhere in the stored bytes. Under the default policy no internal
 * address (RFC 1918, CGNAT, link-local, ULA, loopback) from those lines may appear either; the
 * oracle for "internal" is node's BlockList, not the code under test.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { AgentConfigSchema } from '../../appliance/config.js';
import { minimisePolicyFromSettings } from '../../appliance/minimise/policy-config.js';
import { Outbox } from '../../appliance/outbox/outbox.js';
import { Pipeline } from '../../appliance/pipeline/pipeline.js';
import { FlowSummariser } from '../../appliance/summarise/summarise.js';
import { resolveConfig } from '../../common/config.js';
import { projectRoot } from '../../common/version.js';
import { batchEventCount, decodeBatch } from '../../protocol/codec.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { readFixtures } from '../support/parse-fixtures.js';

const USER = 'CANARY-USER-7f3a';
const HOST = 'canary-host.example';
const URL = 'https://canary.example/path?q=CANARY';
const MSG = 'CANARY-MSG-91bd secret text';
/** Every canary contains this, in one case or the other. */
const CANARY = /canary/i;

// Keys whose values are member or user free text, by kind (matched case-insensitively).
const FREE_TEXT_KEYS: ReadonlyMap<string, string> = new Map([
  ...[
    'user',
    'usr',
    'username',
    'user_name',
    'suser',
    'duser',
    'usrname',
    'sourceuser',
    'destinationuser',
  ].map((k) => [k, USER] as const),
  ...['srcuser', 'dstuser', 'identsrc', 'group', 'caller', 'remoteuser', 'authrule'].map(
    (k) => [k, USER] as const,
  ),
  ...[
    'hostname',
    'host',
    'host_name',
    'dhost',
    'shost',
    'dvchost',
    'devname',
    'device_name',
    'dstname',
    'srcname',
  ].map((k) => [k, HOST] as const),
  ...['url', 'request', 'filename', 'filepath', 'fname', 'cookies', 'target', 'content'].map(
    (k) => [k, URL] as const,
  ),
  ...['msg', 'message', 'info', 'note', 'logdesc', 'reason', 'error', 'remark', 'description'].map(
    (k) => [k, MSG] as const,
  ),
]);

function appended(spare: readonly string[]): string {
  const msg = spare.includes('msg') ? '' : ` msg="${MSG}"`;
  return ` user=${USER} url=${URL} hostname=${HOST}${msg} (user '${USER}')`;
}

/**
 * In these families' alarm lines the `msg` field is the vendor's signature name, which the parser
 * maps to `category` on purpose; categories are kept by default (`privacyCategories`), so under the
 * default policy canaries go everywhere but there. The strict run covers those fields too.
 */
const SIGNATURE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  stormshield: ['msg'],
  zyxel: ['msg'],
};

/** `key=value`, `key="value"` pairs whose key is free text: the value becomes a canary. */
function replaceFreeTextValues(raw: string, spare: readonly string[]): string {
  return raw.replace(
    /\b([A-Za-z_][\w-]*)=("(?:[^"\\]|\\.)*"|[^\s,;|]*)/g,
    (whole, key: string, value: string) => {
      const canary = FREE_TEXT_KEYS.get(key.toLowerCase());
      if (canary === undefined || spare.includes(key.toLowerCase())) return whole;
      return value.startsWith('"') ? `${key}="${canary}"` : `${key}=${canary.replaceAll(' ', '_')}`;
    },
  );
}

/** The RFC 3164 header's HOSTNAME (after the timestamp) replaced by a canary host name. */
function replaceHeaderHost(raw: string): string {
  return raw.replace(
    /^(<\d{1,3}>(?:\d )?)?([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)) (\S+) /,
    (whole, pri = '', date: string) => (whole.length > 0 ? `${pri}${date} ${HOST} ` : whole),
  );
}

/** One variant per empty CSV column, each holding a user-name canary (PAN-OS, filterlog, ...). */
function fillEmptyColumns(raw: string): string[] {
  const out: string[] = [];
  if ((raw.match(/,/g)?.length ?? 0) < 10) return out;
  for (let i = raw.indexOf(',,'); i >= 0; i = raw.indexOf(',,', i + 1)) {
    out.push(`${raw.slice(0, i + 1)}${USER}${raw.slice(i + 1)}`);
  }
  return out;
}

function variants(raw: string, spare: readonly string[]): string[] {
  const all = [
    replaceFreeTextValues(raw, spare),
    raw + appended(spare),
    replaceHeaderHost(raw),
    ...fillEmptyColumns(raw),
  ];
  return [...new Set(all)].filter((v) => CANARY.test(v));
}

// Independent oracle for "internal": node's BlockList with the ranges the issue names.
const internalV4 = new BlockList();
const internalV6 = new BlockList();
for (const [net, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['127.0.0.0', 8],
] as const)
  internalV4.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['fc00::', 7],
  ['fe80::', 10],
  ['::1', 128],
] as const)
  internalV6.addSubnet(net, prefix, 'ipv6');

function isInternal(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return internalV4.check(mapped[1]!, 'ipv4');
  if (isIP(bare) === 4) return internalV4.check(bare, 'ipv4');
  if (isIP(bare) === 6) return internalV6.check(bare, 'ipv6');
  return false;
}

function addressesIn(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d])/g))
    if (isIP(m[0]) === 4) found.add(m[0]);
  for (const m of text.matchAll(/[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[\w.]+)?/g)) {
    const candidate = m[0].replace(/%.*$/, '');
    if (isIP(candidate) === 6) found.add(candidate);
  }
  return [...found];
}

const fixtureDir = join(projectRoot(), 'appliance', 'parse', 'families');
const families = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.jsonl') && f !== 'header.jsonl')
  .sort();

async function runCanaries(
  t: Test,
  overrides: Record<string, unknown>,
  spareSignatures: boolean,
): Promise<void> {
  t.ok(families.length >= 20, `${families.length} fixture families`);
  const dir = mkdtempSync(join(tmpdir(), 'ca-canaries-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = resolveConfig(AgentConfigSchema, overrides);
  const privacy = minimisePolicyFromSettings(config, () => Buffer.alloc(32, 9));
  let clock = 1_800_000_000_000;
  const outbox = new Outbox({
    dataDir: dir,
    deviceId: 'privacy-test',
    batchMaxEvents: 50,
    batchMaxDelayMs: 10,
  });
  const pipeline = new Pipeline(outbox, {
    privacy,
    summariser: new FlowSummariser({ windowMs: 60_000, maxOpenKeys: 50 }),
    now: () => clock,
  });
  t.teardown(() => pipeline.close());

  const internalSeen = new Set<string>();
  const parsedByFamily: Record<string, number> = {};
  for (const file of families) {
    const family = file.slice(0, -'.jsonl'.length);
    let parsed = 0;
    for (const fixture of readFixtures(join(fixtureDir, file))) {
      if (fixture.error) continue;
      for (const line of variants(fixture.raw, spareSignatures ? (SIGNATURE_FIELDS[family] ?? []) : [])) {
        const before = pipeline.counters.parsed;
        pipeline.accept(line, `fixture:${family}`, 'udp');
        clock += 250; // windows close as the clock runs: several windows per run
        if (pipeline.counters.parsed > before) {
          parsed++;
          for (const a of addressesIn(line)) if (isInternal(a)) internalSeen.add(a);
        }
      }
    }
    parsedByFamily[family] = parsed;
  }
  pipeline.flushAll();
  await outbox.flush();

  for (const [family, parsed] of Object.entries(parsedByFamily))
    t.ok(parsed >= 3, `${family}: ${parsed} canary-bearing lines parsed and went through`);
  t.ok(internalSeen.size >= 10, `${internalSeen.size} internal addresses in the lines that parsed`);

  const batches = outbox.peek(0, 1_000_000);
  t.ok(batches.length > 1, `${batches.length} sealed batches`);
  const stored: ConnectionEvent[] = [];
  let raw = 0;
  for (const batch of batches) {
    const bytes = Buffer.from(batch.payload).toString('latin1');
    t.notMatch(bytes, CANARY, `batch ${batch.seq}: no canary in the stored bytes`);
    for (const address of internalSeen) {
      if (isIP(address) === 4) {
        const inClear = new RegExp(`(?<![\\d.])${address.replaceAll('.', '\\.')}(?![\\d])`);
        if (inClear.test(bytes)) t.fail(`batch ${batch.seq}: ${address} stored in clear`);
      } else if (bytes.toLowerCase().includes(address.toLowerCase())) {
        t.fail(`batch ${batch.seq}: ${address} stored in clear`);
      }
    }
    const decoded = decodeBatch(batch.payload);
    t.ok(decoded.ok, `batch ${batch.seq} decodes as central decodes it`);
    if (!decoded.ok) continue;
    raw += batchEventCount(decoded.batch);
    for (const event of decoded.batch.events)
      for (const [field, value] of Object.entries(event))
        if (CANARY.test(String(value))) t.fail(`canary in ${field}: ${JSON.stringify(event)}`);
    stored.push(...decoded.batch.events);
  }
  t.equal(raw, pipeline.counters.parsed, 'every parsed event is represented exactly once (sum of count)');
  t.ok(stored.length < raw, `summaries: ${stored.length} records for ${raw} events`);
  for (const event of stored) {
    for (const field of ['src_ip', 'dst_ip', 'src_nat_ip', 'dst_nat_ip'] as const) {
      const value = event[field];
      if (value !== undefined && isInternal(value)) t.fail(`${field} ${value} is internal and in clear`);
    }
  }
  t.ok(
    stored.some((e) => e.src_ip?.startsWith('p:') || e.dst_ip?.startsWith('p:')),
    'internal addresses appear as pseudonyms',
  );
  t.equal(pipeline.counters.minimise.unknownFields, 0, 'parsers emit only schema keys');
}

t.test('default policy: no canary and no internal address reaches the outbox, for every parser family', (t) =>
  runCanaries(t, {}, true),
);

t.test('privacyCategories=pseudonymise: not even a canary in a signature name', (t) =>
  runCanaries(t, { privacyCategories: 'pseudonymise' }, false),
);
