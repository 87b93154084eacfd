/**
 * PGlite admits one process per data directory, and an overlapping open corrupted it for good
 * (`RuntimeError: Aborted()` at every later open). The directory is locked: a second central on it
 * stops with one line (exit 2) while the first keeps working; once the first stops, or is killed and
 * leaves a stale lock behind, the next one starts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DatabaseInUseError, openDatabase } from '../../central/store/db.js';
import { CENTRAL_CLI, startCentralProcess } from '../../tools/demo/harness.js';

function runCentral(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = ['run', '--data-dir', dataDir, '--broker-host', '127.0.0.1', '--broker-port', '0'];
  args.push('--portal-host', '127.0.0.1', '--portal-port', '0', '--log-level', 'warn');
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CENTRAL_CLI, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
    // A central that did start (the bug) is stopped once it says so, so the test ends either way.
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('"listening"')) child.kill('SIGTERM');
    });
  });
}

t.test('in one process: a second open of the same directory is refused until the first closes', async (t) => {
  const dir = t.testdir();
  const first = await openDatabase(undefined, dir);
  await t.rejects(openDatabase(undefined, dir), DatabaseInUseError);
  t.same(await first.query<{ one: number }>('SELECT 1 AS one'), [{ one: 1 }], 'the first still answers');
  await first.close();
  const again = await openDatabase(undefined, dir);
  t.same(await again.query<{ one: number }>('SELECT 1 AS one'), [{ one: 1 }]);
  await again.close();
  t.notOk(existsSync(join(dir, 'pglite.lock')), 'close releases the lock');
});

t.test('a second central on the same data directory exits; the first keeps working', async (t) => {
  const dataDir = join(t.testdir(), 'central');
  const first = await startCentralProcess(dataDir);
  t.teardown(() => first.kill('SIGKILL'));

  const second = await runCentral(dataDir);
  t.equal(second.code, 2, 'exit code 2: a user-facing error');
  t.notMatch(second.stdout, /listening/, 'it never listened');
  const lines = second.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${second.stderr}`);
  t.match(lines[0], new RegExp(`in use by process ${first.child.pid}\\b`), 'names the process holding it');

  const stats = await first.stats();
  t.type(stats.stored, 'number', 'the first central still answers from its database');

  t.equal(await first.kill('SIGTERM'), 0, 'the first stops cleanly');
  const third = await startCentralProcess(dataDir);
  t.ok(third.info.portal, 'after it stopped, a new central starts on the directory');
  t.type((await third.stats()).stored, 'number');

  // Killed without a chance to unlock: the lock names a dead pid and is taken over.
  await third.kill('SIGKILL');
  t.ok(existsSync(join(dataDir, 'pglite.lock')), 'a killed central leaves its lock behind');
  const fourth = await startCentralProcess(dataDir);
  t.teardown(() => fourth.kill('SIGKILL'));
  t.type((await fourth.stats()).stored, 'number', 'a stale lock does not keep central down');
  t.equal(await fourth.kill('SIGTERM'), 0);
});
