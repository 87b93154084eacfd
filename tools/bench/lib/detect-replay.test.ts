import { createHash } from 'node:crypto';
import t from 'tap';
import { parseMessage } from '../../../appliance/parse/registry.js';
import { generateDetectReplay, LABEL_KINDS, REPLAY_FAMILIES } from './detect-replay.js';

const digest = (lines: readonly string[]): string =>
  createHash('sha256').update(lines.join('\n')).digest('hex');

// Attacks are fixed in shape (50,000-75,000 lines, floods the most); 90,000 leaves room for benign traffic.
const SIZE = 90_000;
const replay = generateDetectReplay({ seed: 7, lines: SIZE });

t.test('the same seed gives the same replay, another seed another', async (t) => {
  const again = generateDetectReplay({ seed: 7, lines: SIZE });
  t.equal(digest(again.lines), digest(replay.lines));
  t.same(again.labels, replay.labels);
  t.not(digest(generateDetectReplay({ seed: 8, lines: SIZE }).lines), digest(replay.lines));
});

t.test('size, order and spread over the hours', async (t) => {
  t.equal(replay.lines.length, SIZE);
  for (let i = 1; i < replay.lineTimeMs.length; i++) {
    if (replay.lineTimeMs[i]! < replay.lineTimeMs[i - 1]!) t.fail(`line ${i} goes back in time`);
  }
  t.ok(replay.lineTimeMs[0]! - replay.startMs < 60_000, 'starts at the start');
  t.ok(replay.endMs - replay.lineTimeMs.at(-1)! < 600_000, 'runs to the end');
  const counts = new Array(REPLAY_FAMILIES.length).fill(0);
  for (const f of replay.lineFamily) counts[f]++;
  for (const [i, n] of counts.entries()) t.ok(n > SIZE / 10, `${REPLAY_FAMILIES[i]} has ${n} lines`);
});

t.test('every label has lines, every attack kind is there, noise is labelled', async (t) => {
  const kinds = new Set(replay.labels.filter((l) => !l.optional).map((l) => l.kind));
  t.same([...kinds].sort(), [...LABEL_KINDS].sort());
  const perLabel = new Array(replay.labels.length).fill(0);
  for (const l of replay.lineLabel) if (l >= 0) perLabel[l]++;
  for (const [i, label] of replay.labels.entries()) {
    t.ok(label.lines > 0, `${label.kind} ${label.source} has lines`);
    if (!label.optional)
      t.equal(perLabel[i], label.lines, `${label.kind} ${label.source} counts its own lines`);
  }
  const keys = replay.labels.map((l) => `${l.kind} ${l.source}`);
  t.equal(new Set(keys).size, keys.length, 'one label per kind and source');
  const noise = replay.labels.filter((l) => l.kind === 'background');
  t.ok(noise.length > 200, `${noise.length} background sources`);
  t.ok(
    noise.every((l) => l.lines <= 3),
    'background sources probe at most three times',
  );
  const beacon = replay.labels.find((l) => l.kind === 'beaconing')!;
  t.ok(beacon.lastMs - beacon.firstMs >= 3 * 3_600_000, 'beaconing lasts hours');
  t.ok(Math.abs((beacon.lastMs - beacon.firstMs) / (beacon.lines - 1) - 60_000) < 1_500, 'every 60 s');
});

t.test('every line parses with the project parser to the intended family, time and addresses', async (t) => {
  const now = new Date(replay.endMs + 86_400_000);
  let wrong = 0;
  for (let i = 0; i < replay.lines.length; i++) {
    const raw = replay.lines[i]!;
    const result = parseMessage(raw, now);
    const family = REPLAY_FAMILIES[replay.lineFamily[i]!];
    // FortiGate's eventtime carries the milliseconds; the other three write whole seconds.
    const ms = replay.lineTimeMs[i]!;
    const written = family === 'fortinet_fortigate' ? ms : Math.floor(ms / 1000) * 1000;
    const ok = result.ok && result.family === family && Date.parse(result.event.ts ?? '') === written;
    if (!ok && wrong++ < 5) t.fail(`${family}: ${raw} -> ${JSON.stringify(result)}`);
    const label = replay.lineLabel[i]!;
    if (ok && label >= 0 && result.ok) {
      const source = replay.labels[label]!.source;
      const { src_ip, dst_ip } = result.event;
      if (![src_ip, dst_ip].includes(source) && !replay.labels[label]!.aliases.some((a) => a === src_ip)) {
        if (wrong++ < 5) t.fail(`labelled ${source} but parsed ${src_ip} -> ${dst_ip}: ${raw}`);
      }
    }
  }
  t.equal(wrong, 0, `all ${replay.lines.length} lines parse as written`);
});

t.test('the hard benign cases are there and unlabelled', async (t) => {
  // netfilter lines: SRC=… DST=… … DPT=…; the proxy, scanner and NTP server of the netfilter site.
  const proxyDestinations = new Set<string>();
  let scanner = 0;
  let ntpRush = 0;
  for (let i = 0; i < replay.lines.length; i++) {
    if (replay.lineFamily[i] !== 0) continue;
    const m = /SRC=(\S+) DST=(\S+) .*? SPT=(\d+) DPT=(\d+)/.exec(replay.lines[i]!);
    if (m === null) continue;
    const [, src, dst, spt, dpt] = m;
    const benign = replay.lineLabel[i] === -1;
    if (src === '192.168.1.5' && (dpt === '443' || dpt === '80') && benign) proxyDestinations.add(dst!);
    if (src === '192.168.1.7' && benign) scanner++;
    if (dst === '192.168.50.223' && spt === '123' && dpt === '123' && benign) ntpRush++;
  }
  t.ok(proxyDestinations.size >= 200, `the proxy reaches ${proxyDestinations.size} internet addresses`);
  t.ok(scanner >= 100, `the internal scanner sends ${scanner} probes`);
  t.ok(ntpRush >= 30, `${ntpRush} ntpd requests from port 123 reach the NTP server`);
});
