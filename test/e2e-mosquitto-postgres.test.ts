/**
 * The same spine against the production parts: a real Mosquitto started with the configuration
 * `cyberalarm-central broker-config` generates, and real PostgreSQL (each run creates and drops its
 * own database). The agent speaks MQTT v5 to Mosquitto; central ingests through a shared subscription.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { replay } from '../appliance/replay/replay.js';
import {
  issueDevice,
  MOSQUITTO,
  startAgentProcess,
  startCentralProcess,
  startGeneratedMosquitto,
  waitFor,
} from '../tools/demo/harness.js';
import { generateTraffic } from '../tools/demo/traffic.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

const pgUp = await postgresAvailable();
const skip = !MOSQUITTO
  ? 'mosquitto is not installed'
  : !pgUp
    ? 'PostgreSQL is not running on 127.0.0.1:5432'
    : false;
if (skip && process.env.CI === 'true') t.fail(`CI must run the production-parts test: ${skip}`);

t.test('10,000 lines over TCP and UDP through Mosquitto into PostgreSQL', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-prod-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbName = `cyberalarm_e2e_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  const centralDir = join(dir, 'central');
  const mosquitto = await startGeneratedMosquitto(join(dir, 'mosquitto'), centralDir);
  const { brokerPort, workerPort } = mosquitto;
  t.teardown(() => mosquitto.kill());

  const central = await startCentralProcess(centralDir, [
    '--db',
    `postgres://postgres@127.0.0.1:5432/${dbName}`,
    '--broker-url',
    `mqtts://localhost:${workerPort}`,
  ]);
  t.teardown(() => central.kill());
  await issueDevice(centralDir, 'prod-device-1', join(dir, 'agent', 'identity'));
  const agent = await startAgentProcess(
    join(dir, 'agent'),
    join(dir, 'agent', 'identity'),
    `mqtts://localhost:${brokerPort}`,
  );
  t.teardown(() => agent.kill());

  await Promise.all([
    replay(generateTraffic(10_000, { seed: 11 }), { to: `tcp://127.0.0.1:${agent.tcpPort}`, rate: 5000 }),
    replay(generateTraffic(10_000, { seed: 12 }), { to: `udp://127.0.0.1:${agent.udpPort}`, rate: 5000 }),
  ]);
  const status = await waitFor(
    'the agent to receive every line',
    async () => {
      const s = await agent.status();
      return s.pipeline.received + (s.ingest.udp.kernelDrops ?? 0) === 20_000 ? s : undefined;
    },
    60_000,
  );
  t.equal(status.ingest.tcp.messages, 10_000, 'TCP: every line received');
  t.equal(
    status.ingest.udp.messages + (status.ingest.udp.kernelDrops ?? 0),
    10_000,
    `UDP: every datagram received or counted as dropped by the kernel (${status.ingest.udp.kernelDrops})`,
  );
  t.equal(
    status.pipeline.parsed + status.pipeline.unparsed + status.pipeline.rateLimited,
    status.pipeline.received,
    'every line received is parsed or counted as unparsed',
  );
  const final = await waitFor(
    'central to store every parsed event',
    async () => {
      const [a, c] = await Promise.all([agent.status(), central.stats()]);
      return a.outbox.depthEvents === 0 && c.stored >= status.pipeline.parsed ? { a, c } : undefined;
    },
    120_000,
  );
  t.equal(final.c.stored, status.pipeline.parsed, 'PostgreSQL holds exactly the parsed events');
  t.equal(final.c.quarantined, 0);
  const { rows } = await admin.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_database WHERE datname = $1`,
    [dbName],
  );
  t.equal(rows[0]?.n, '1', 'the test used its own database');
  const check = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${dbName}` });
  await check.connect();
  const events = await check.query<{ n: string }>('SELECT coalesce(sum(count), 0)::text AS n FROM events');
  await check.end();
  t.equal(Number(events.rows[0]?.n), status.pipeline.parsed, 'the events table holds them, each once');
});
