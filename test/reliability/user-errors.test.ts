/**
 * What a person running the binaries sees when something is theirs to fix: one line naming the
 * problem (no stack trace) and exit code 2, for every user-facing error kind (common/errors.ts):
 * a bad setting, a missing identity file, a broken privacy key, a bad argument.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { AGENT_CLI, CENTRAL_CLI, issueDevice } from '../../tools/demo/harness.js';

const dir = join(tmpdir(), `ca-user-errors-${process.pid}`);
mkdirSync(dir, { recursive: true });
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function run(cli: string, args: readonly string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stderr: result.stderr.trim() };
}

const LISTEN_ANYWHERE = ['--syslog-udp-port', '0', '--syslog-tcp-port', '0', '--status-port', '0'];

function expectOneLine(t: Test, got: { code: number | null; stderr: string }, name: string, what: RegExp) {
  t.equal(got.code, 2, 'exit code 2');
  t.equal(got.stderr.split('\n').length, 1, `one line: ${got.stderr.slice(0, 300)}`);
  t.ok(got.stderr.startsWith(`${name}: `), 'names the command');
  t.match(got.stderr, what, 'says what is wrong');
  t.notMatch(got.stderr, /\n\s+at /, 'no stack trace');
}

t.test('identity and privacy key', async (t) => {
  const identity = join(dir, 'identity');
  await issueDevice(join(dir, 'central'), 'user-errors-1', identity);
  const base = ['run', '--identity-dir', identity, '--central', 'mqtts://127.0.0.1:1', ...LISTEN_ANYWHERE];

  t.test('a privacy key of the wrong size', async (t) => {
    const data = join(dir, 'agent-key');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'privacy.key'), Buffer.alloc(5));
    const got = run(AGENT_CLI, [...base, '--data-dir', data]);
    expectOneLine(t, got, 'cyberalarm-agent run', /privacy\.key holds 5 bytes, expected 32/);
  });

  t.test('an identity directory without its CA certificate', async (t) => {
    const broken = join(dir, 'identity-broken');
    cpSync(identity, broken, { recursive: true });
    rmSync(join(broken, 'ca.crt'));
    const args = base.map((a) => (a === identity ? broken : a));
    const got = run(AGENT_CLI, [...args, '--data-dir', join(dir, 'agent-identity')]);
    expectOneLine(t, got, 'cyberalarm-agent run', /no device identity: .*ca\.crt is missing/);
  });
});

t.test('a setting out of range', async (t) => {
  const got = run(AGENT_CLI, ['run', '--syslog-udp-port', '99999']);
  expectOneLine(t, got, 'cyberalarm-agent run', /syslogUdpPort.*65535.*99999/);
});

t.test('a bad argument', async (t) => {
  const got = run(AGENT_CLI, ['parse', '--input', 'xml']);
  expectOneLine(t, got, 'cyberalarm-agent parse', /--input must be lines or jsonl/);
});

t.test('central: a setting out of range', async (t) => {
  const got = run(CENTRAL_CLI, ['run', '--data-dir', join(dir, 'central-bad'), '--portal-port', '70000']);
  expectOneLine(t, got, 'cyberalarm-central run', /portalPort.*70000/);
});

t.test('a port in use: both binaries say which and what to do', async (t) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = String((busy.address() as { port: number }).port);
  const identity = join(dir, 'identity-port');
  await issueDevice(join(dir, 'central-port'), 'user-errors-2', identity);
  const agent = run(AGENT_CLI, [
    'run',
    '--data-dir',
    join(dir, 'agent-port'),
    '--identity-dir',
    identity,
    '--central',
    'mqtts://127.0.0.1:1',
    '--listen-host',
    '127.0.0.1',
    '--syslog-udp-port',
    '0',
    '--syslog-tcp-port',
    port,
    '--status-port',
    '0',
  ]);
  expectOneLine(
    t,
    agent,
    'cyberalarm-agent run',
    new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`),
  );
  const central = run(CENTRAL_CLI, [
    'run',
    '--data-dir',
    join(dir, 'central-busy'),
    '--broker-port',
    '0',
    '--portal-port',
    port,
    '--log-level',
    'warn',
  ]);
  expectOneLine(
    t,
    central,
    'cyberalarm-central run',
    new RegExp(`cannot listen on .*:${port}: the port is in use`),
  );
});
