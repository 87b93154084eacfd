/**
 * The alarm end to end, with real processes: a port scan in iptables LOG lines goes to a running
 * agent over syslog; the agent's detection raises it, shows it on the member's status API, and its
 * outbox and uplink carry it to a running central, which stores it as one alert with the evidence
 * (detector, the scanner's address in clear, the target as a pseudonym, its ports), while benign
 * traffic alongside raises nothing. And central's blocklists: a list an operator imports is signed,
 * published, verified and applied by the agent, and a connection from a listed address is an alert.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { replay } from '../appliance/replay/replay.js';
import { openDatabase } from '../central/store/db.js';
import {
  type AgentProc,
  CENTRAL_CLI,
  issueDevice,
  runCli,
  startAgentProcess,
  startCentralProcess,
  waitFor,
} from '../tools/demo/harness.js';

const DEVICE = 'e2e-detect-1';
const SCANNER = '203.0.113.77';
const LISTED = '198.51.100.66';
const SCHEME_SCANNER = '192.0.2.250';
const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-detect-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// RFC 3164 timestamp of now, as the firewall would stamp it (local time, year-less).
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
// iptables LOG format (netfilter's nf_log_syslog: IN= OUT= MAC= SRC= DST= … PROTO= SPT= DPT=).
const logLine = (d: Date, action: string, src: string, dst: string, spt: number, dpt: number) =>
  `<4>${stamp(d)} gw kernel: [1234.567890] ${action}: IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 SRC=${src} DST=${dst} LEN=44 TOS=0x00 PREC=0x00 TTL=45 ID=1 PROTO=TCP SPT=${spt} DPT=${dpt} WINDOW=1024 RES=0x00 SYN URGP=0`;

interface DetectStatus {
  detection: { enabled: boolean; recent: { detector: string; source: string; distinctPorts: number }[] };
}

t.test('a port scan becomes one alert at central, with its evidence', async (t) => {
  const central = await startCentralProcess(join(dir, 'central'));
  t.teardown(() => central.kill());
  const identity = join(dir, 'agent', 'identity');
  await issueDevice(central.dataDir, DEVICE, identity);
  const agent: AgentProc = await startAgentProcess(
    join(dir, 'agent'),
    identity,
    `mqtts://localhost:${central.brokerPort}`,
  );
  t.teardown(() => agent.kill());

  const now = new Date();
  const lines: string[] = [];
  // Benign: outbound web browsing from two hosts, allowed.
  for (let i = 0; i < 40; i++)
    lines.push(
      logLine(now, 'ACCEPT-OUT', `192.168.1.${20 + (i % 2)}`, `198.51.100.${i + 1}`, 50000 + i, 443),
    );
  // The scan: one outside source, 200 ports of one host, within a few seconds.
  for (let port = 1; port <= 200; port++)
    lines.push(logLine(now, 'DROP', SCANNER, '192.168.1.10', 40000, port));
  await replay(lines, { to: `udp://127.0.0.1:${agent.udpPort}`, rate: 2000 });

  const seen = await waitFor(
    'the agent to raise the scan',
    async () => {
      const s = (await (
        await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)
      ).json()) as DetectStatus;
      return s.detection.recent.find((a) => a.source === SCANNER);
    },
    60_000,
    200,
  );
  t.equal(seen.detector, 'vertical-scan', 'on the member’s status API');
  t.ok(seen.distinctPorts >= 15, `with the ports it probed (${seen.distinctPorts})`);

  await waitFor(
    'central to store the alert',
    async () => {
      const stats = (await central.stats()) as unknown as { process: { alertBatchesStored: number } };
      return stats.process.alertBatchesStored > 0 ? true : undefined;
    },
    60_000,
    200,
  );
  // Closing the agent closes its open alerts (a final report); then central's store is read.
  await agent.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 2000));
  await central.kill();
  const db = await openDatabase(undefined, central.dataDir);
  t.teardown(() => db.close());
  const rows = await db.query<{
    detector: string;
    src_ip: string | null;
    device_id: string;
    detail: { targets?: string[]; ports?: number[] } | null;
  }>('SELECT detector, src_ip, device_id, detail FROM alerts');
  const scans = rows.filter((r) => r.src_ip === SCANNER);
  t.equal(scans.length, 1, 'one alert row for the scan, however often it was reported');
  t.equal(scans[0]?.detector, 'vertical-scan');
  t.equal(scans[0]?.device_id, DEVICE);
  t.match(scans[0]?.detail?.targets?.[0] ?? '', /^p:[a-z2-7]{12}$/, 'the target as a pseudonym');
  t.ok((scans[0]?.detail?.ports?.length ?? 0) > 0, 'ports sampled');
  t.same(
    rows.filter((r) => r.src_ip !== SCANNER),
    [],
    'the benign traffic raised nothing',
  );
});

t.test(
  'a blocklist published at central reaches the agent and an address on it raises intel-hit',
  async (t) => {
    const centralDir = join(dir, 'central-intel');
    const central = await startCentralProcess(centralDir);
    t.teardown(() => central.kill());
    const identity = join(dir, 'agent-intel', 'identity');
    await issueDevice(central.dataDir, 'e2e-intel-1', identity);
    // An operator's plain list (one address or CIDR per line, # comments).
    const listFile = join(dir, 'listed.txt');
    writeFileSync(listFile, `# test list\n${LISTED}\n198.51.100.128/25\n`);
    await runCli(CENTRAL_CLI, ['intel', 'import', '--list', 'operator', listFile, '--data-dir', centralDir]);
    // The scheme's own scanner (central's vulnerability scanning): never alerted on.
    const schemeFile = join(dir, 'scheme.txt');
    writeFileSync(schemeFile, `${SCHEME_SCANNER}\n`);
    await runCli(CENTRAL_CLI, [
      'intel',
      'import',
      '--list',
      'scheme-scanners',
      schemeFile,
      '--data-dir',
      centralDir,
    ]);
    await runCli(CENTRAL_CLI, ['intel', 'publish', '--data-dir', centralDir]);

    const agent = await startAgentProcess(
      join(dir, 'agent-intel'),
      identity,
      `mqtts://localhost:${central.brokerPort}`,
    );
    t.teardown(() => agent.kill());
    interface IntelStatus {
      intel: { enabled: boolean; lists: { list: string; version: number; entries: number }[] };
      detection: { recent: { detector: string; source: string; summary: string }[] };
    }
    const agentStatus = async () =>
      (await (await fetch(`http://127.0.0.1:${agent.statusPort}/api/status`)).json()) as IntelStatus;
    const held = await waitFor(
      'the agent to verify and apply the list',
      async () => (await agentStatus()).intel.lists.find((l) => l.list === 'operator' && l.version >= 1),
      60_000,
      200,
    );
    t.equal(held.entries, 2, 'the list as imported, verified with central’s key');

    // One allowed connection from the listed address to a web server: nothing else would alert on it.
    await replay([logLine(new Date(), 'ACCEPT-IN', LISTED, '192.168.1.80', 51000, 80)], {
      to: `udp://127.0.0.1:${agent.udpPort}`,
      rate: 0,
    });
    const hit = await waitFor(
      'the intel hit',
      async () => (await agentStatus()).detection.recent.find((a) => a.detector === 'intel-hit'),
      60_000,
      200,
    );
    t.equal(hit.source, LISTED, 'the listed address is the alert’s source');
    t.match(hit.summary, /operator|list/i, 'and it says which list');

    // The scheme's scanner probes 200 ports, then an unknown source does the same.
    const scan = (src: string) =>
      Array.from({ length: 200 }, (_, p) => logLine(new Date(), 'DROP', src, '192.168.1.10', 40000, p + 1));
    await waitFor(
      'the scheme-scanners list',
      async () => (await agentStatus()).intel.lists.find((l) => l.list === 'scheme-scanners'),
      60_000,
      200,
    );
    await replay([...scan(SCHEME_SCANNER), ...scan(SCANNER)], {
      to: `udp://127.0.0.1:${agent.udpPort}`,
      rate: 2000,
    });
    await waitFor(
      'the unknown scanner’s alert',
      async () => (await agentStatus()).detection.recent.find((a) => a.source === SCANNER),
      60_000,
      200,
    );
    t.notOk(
      (await agentStatus()).detection.recent.some((a) => a.source === SCHEME_SCANNER),
      'the scheme’s own scanner raised nothing',
    );
  },
);
