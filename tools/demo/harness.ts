/**
 * Starts the real binaries as separate processes on loopback ports and reads their state over
 * their real APIs. Used by the demo (`npm start`), the end-to-end tests and the benchmarks.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { AGENT_NODE_FLAGS } from '../../appliance/node-flags.js';
import { projectRoot } from '../../common/version.js';

const execFileAsync = promisify(execFile);
export const ROOT = projectRoot();
export const AGENT_CLI = join(ROOT, 'dist/appliance/cli.js');
export const CENTRAL_CLI = join(ROOT, 'dist/central/cli.js');

export interface Proc {
  readonly child: ChildProcess;
  /** The first JSON line the process printed with event "listening". */
  readonly info: Record<string, unknown>;
  /** Everything the process wrote to stderr (its structured logs), for failure messages. */
  readonly stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `node CLI args...` and resolves once it prints its `listening` line. */
export function startProcess(
  cli: string,
  args: readonly string[],
  timeoutMs = 60_000,
  /** Node flags before the script, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs: readonly string[] = [],
): Promise<Proc> {
  const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errText = '';
  child.stderr?.on('data', (d: Buffer) => {
    errText += d.toString();
    if (errText.length > 200_000) errText = errText.slice(-100_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cli} did not start within ${timeoutMs} ms:\n${errText}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const info = JSON.parse(line) as Record<string, unknown>;
        if (info.event === 'listening') {
          clearTimeout(timer);
          resolve({ child, info, stderr: () => errText, kill });
        }
      } catch {
        /* not a JSON line */
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cli} exited with ${code} before listening:\n${errText}`));
    });
  });
}

export async function runCli(cli: string, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [cli, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export interface CentralProc extends Proc {
  readonly dataDir: string;
  readonly brokerPort: number;
  readonly portalPort: number;
  stats(): Promise<CentralStats>;
}

export interface CentralStats {
  batches: number;
  stored: number;
  duplicates: number;
  quarantined: number;
}

export async function startCentralProcess(
  dataDir: string,
  extraArgs: readonly string[] = [],
): Promise<CentralProc> {
  const proc = await startProcess(CENTRAL_CLI, [
    'run',
    '--data-dir',
    dataDir,
    '--broker-host',
    '127.0.0.1',
    '--broker-port',
    '0',
    '--portal-host',
    '127.0.0.1',
    '--portal-port',
    '0',
    '--log-level',
    'warn',
    ...extraArgs,
  ]);
  const portalPort = Number(proc.info.portal);
  const ca = readFileSync(join(dataDir, 'ca', 'ca.crt'), 'utf8');
  const token = readFileSync(join(dataDir, 'portal-admin.token'), 'utf8').trim();
  return {
    ...proc,
    dataDir,
    brokerPort: Number(proc.info.broker),
    portalPort,
    stats: () => getJson<CentralStats>(`https://localhost:${portalPort}/api/stats`, { ca, token }),
  };
}

export async function issueDevice(
  centralDataDir: string,
  deviceId: string,
  identityDir: string,
): Promise<void> {
  await runCli(CENTRAL_CLI, [
    'device',
    'issue',
    '--id',
    deviceId,
    '--out',
    identityDir,
    '--data-dir',
    centralDataDir,
  ]);
}

export interface AgentProc extends Proc {
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly statusPort: number;
  status(): Promise<AgentStatusView>;
}

/** The parts of the agent's /api/status the harness reads. */
export interface AgentStatusView {
  /** `queued`: handed to the parse workers, not through them yet (0 once everything is counted). */
  pipeline: { received: number; parsed: number; unparsed: number; rateLimited: number; queued: number };
  outbox: {
    acceptedEvents: number;
    ackedEvents: number;
    depthEvents: number;
    pendingEvents: number;
    writeErrors: number;
  };
  uplink: { state: string; ackedBatches: number };
  ingest: { udp: { messages: number; kernelDrops: number | null }; tcp: { messages: number } };
  /** Absent on agents built before enrolment (issue 6). `qr` is the exact QR text while pending;
   * `centralState` is what central last answered (`pending` once the request is registered). */
  enrolment?: { state: 'pending' | 'enrolled' | 'revoked'; qr?: string; centralState?: string };
}

export async function startAgentProcess(
  dataDir: string,
  identityDir: string,
  centralUrl: string,
  extraArgs: readonly string[] = [],
  ports: { udp?: number; tcp?: number; status?: number } = {},
): Promise<AgentProc> {
  return startAgentWithArgs(
    ['--data-dir', dataDir, '--identity-dir', identityDir, '--central', centralUrl, ...extraArgs],
    ports,
  );
}

/** A fresh appliance as delivered: no identity yet, only central's enrolment URL and CA (issue 6).
 * It makes its own key pair, shows the QR code and polls central until an officer approves it. */
export function startEnrollingAgentProcess(
  dataDir: string,
  enrolment: { enrolmentUrl: string; centralCaFile: string },
  extraArgs: readonly string[] = [],
  ports: { udp?: number; tcp?: number; status?: number } = {},
): Promise<AgentProc> {
  return startAgentWithArgs(
    [
      '--data-dir',
      dataDir,
      '--enrolment-url',
      enrolment.enrolmentUrl,
      '--central-ca-file',
      enrolment.centralCaFile,
      '--enrolment-poll-s',
      '1',
      ...extraArgs,
    ],
    ports,
  );
}

async function startAgentWithArgs(
  args: readonly string[],
  ports: { udp?: number; tcp?: number; status?: number },
): Promise<AgentProc> {
  const proc = await startProcess(
    AGENT_CLI,
    [
      'run',
      '--listen-host',
      '127.0.0.1',
      '--status-host',
      '127.0.0.1',
      '--syslog-udp-port',
      String(ports.udp ?? 0),
      '--syslog-tcp-port',
      String(ports.tcp ?? 0),
      '--status-port',
      String(ports.status ?? 0),
      '--log-level',
      'warn',
      '--reconnect-min-ms',
      '100',
      '--reconnect-max-ms',
      '2000',
      // Short summary windows so the demo and tests see results in seconds (production default: 60 s);
      // extraArgs may override it (commander keeps the last value).
      '--summary-window-s',
      '2',
      ...args,
    ],
    60_000,
    AGENT_NODE_FLAGS,
  );
  const statusPort = Number(proc.info.status);
  return {
    ...proc,
    udpPort: Number(proc.info.syslogUdp),
    tcpPort: Number(proc.info.syslogTcp),
    statusPort,
    status: () => getJson<AgentStatusView>(`http://127.0.0.1:${statusPort}/api/status`),
  };
}

export function getJson<T>(url: string, auth?: { ca: string; token: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const handler = (res: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}: ${body}`));
        else resolve(JSON.parse(body) as T);
      });
    };
    const req = auth
      ? httpsRequest(url, { ca: auth.ca, headers: { authorization: `Bearer ${auth.token}` } }, handler)
      : httpRequest(url, handler);
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: timed out`)));
    req.end();
  });
}

/** Polls `check` until it returns a value, or throws after `timeoutMs` with the last state. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A free loopback TCP port (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as import('node:net').AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => {
  try {
    readFileSync(p);
    return true;
  } catch {
    return false;
  }
});

export interface MosquittoProc {
  readonly pid: number;
  /** SIGTERM (Mosquitto saves its database on the way out) and wait for the exit. */
  kill(): Promise<void>;
  /** Any signal, e.g. SIGKILL (no save), SIGUSR1 (save now), SIGHUP (reload ACL, CRL). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  log: () => string;
}

/** Starts a real Mosquitto with the given config; resolves once its listener accepts connections. */
export async function startMosquitto(configFile: string, port: number): Promise<MosquittoProc> {
  if (!MOSQUITTO)
    throw new Error('mosquitto is not installed (npm test runs scripts/setup.sh, which installs it)');
  const net = await import('node:net');
  const child = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    `mosquitto on port ${port}`,
    () =>
      new Promise<true | undefined>((resolve) => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${log}`);
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(undefined));
      }),
    15_000,
    100,
  );
  return {
    pid: child.pid ?? 0,
    log: () => log,
    exited,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Writes the production broker configuration with `cyberalarm-central broker-config` (device and
 * worker listeners on free ports, certificates from central's data directory) and starts Mosquitto
 * with it: what an operator does, in one call for tests and benchmarks.
 */
export async function startGeneratedMosquitto(
  outDir: string,
  centralDataDir: string,
): Promise<MosquittoProc & { brokerPort: number; workerPort: number; configFile: string }> {
  const brokerPort = await freePort();
  const workerPort = await freePort();
  await runCli(CENTRAL_CLI, [
    'broker-config',
    '--out',
    outDir,
    '--port',
    String(brokerPort),
    '--worker-port',
    String(workerPort),
    '--data-dir',
    centralDataDir,
  ]);
  const configFile = join(outDir, 'mosquitto.conf');
  const mosquitto = await startMosquitto(configFile, brokerPort);
  return { brokerPort, workerPort, configFile, ...mosquitto };
}
