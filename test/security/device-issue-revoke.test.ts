/**
 * An identity made with `cyberalarm-central device issue` is recorded and revocable like an enrolled
 * one: `device revoke` finds it, the embedded broker disconnects and then refuses it, and the CRL
 * lists its serial. Covers both recording paths: issued while central is stopped (straight into the
 * database) and while it runs (through its admin API, PGlite admitting one process).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { x509 } from '../../provisioning/x509.js';
import { CENTRAL_CLI, runCli, startCentralProcess } from '../../tools/demo/harness.js';
import { tryConnect } from '../support/mqtt-client.js';

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}

async function issue(centralDir: string, id: string, out: string): Promise<string> {
  const printed = lastJsonLine(
    await runCli(CENTRAL_CLI, ['device', 'issue', '--id', id, '--out', out, '--data-dir', centralDir]),
  );
  t.equal(printed.event, 'issued');
  const serial = new x509.X509Certificate(readFileSync(join(out, 'device.crt'), 'utf8')).serialNumber;
  t.equal(printed.serial, serial.toLowerCase(), `${id}: the printed serial is the certificate's`);
  return serial.toLowerCase();
}

/** Connects with an identity directory; resolves with the client, or the error once refused. */
function connect(port: number, id: string, identityDir: string) {
  return tryConnect(`mqtts://localhost:${port}`, {
    protocolVersion: 4,
    clientId: id,
    cert: readFileSync(join(identityDir, 'device.crt')),
    key: readFileSync(join(identityDir, 'device.key')),
    ca: readFileSync(join(identityDir, 'ca.crt')),
  });
}

t.test('device issue → connect → device revoke: disconnected, refused, on the CRL', async (t) => {
  const dir = t.testdir();
  const centralDir = join(dir, 'central');
  const before = join(dir, 'before');
  const during = join(dir, 'during');
  // Issued while central is stopped: recorded straight into its PGlite database.
  const serialBefore = await issue(centralDir, 'cli-dev-before', before);
  const central = await startCentralProcess(centralDir);
  t.teardown(() => central.kill());
  // Issued while central runs: recorded through the running central.
  const serialDuring = await issue(centralDir, 'cli-dev-during', during);

  for (const [id, identityDir, serial] of [
    ['cli-dev-before', before, serialBefore],
    ['cli-dev-during', during, serialDuring],
  ] as const) {
    const { client, error } = await connect(central.brokerPort, id, identityDir);
    t.ok(client, `${id} connects before revocation (${error?.message ?? 'ok'})`);
    if (!client) continue;
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const revoked = lastJsonLine(
      await runCli(CENTRAL_CLI, ['device', 'revoke', '--id', id, '--data-dir', centralDir]),
    );
    t.same(revoked.serials, [serial], `${id}: revoke names the issued certificate`);
    await closed;
    t.pass(`${id}: the broker disconnected it`);
    client.end(true);
    const again = await connect(central.brokerPort, id, identityDir);
    t.notOk(again.client, `${id}: refused afterwards (${again.error?.message})`);
    again.client?.end(true);
  }

  const crl = new x509.X509Crl(readFileSync(join(centralDir, 'ca', 'crl.pem'), 'utf8'));
  const listed = crl.entries.map((e) => e.serialNumber.toLowerCase());
  t.ok(listed.includes(serialBefore), 'the CRL lists the certificate issued while central was stopped');
  t.ok(listed.includes(serialDuring), 'the CRL lists the certificate issued while central ran');
});
