import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadPrivacyKey, PRIVACY_KEY_FILE, PrivacyKeyError } from './privacy-key.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ca-privacy-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('created once with 32 random bytes, mode 0600, then read back unchanged', async (t) => {
  const dir = join(tempDir(t), 'data');
  const first = loadPrivacyKey(dir);
  t.equal(first.length, 32);
  const path = join(dir, PRIVACY_KEY_FILE);
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.same(loadPrivacyKey(dir), first, 'stable across restarts');
  t.same(readFileSync(path), first);
  t.notSame(loadPrivacyKey(join(tempDir(t), 'other')), first, 'another device, another key');
});

t.test('a permissive mode is tightened; a damaged key stops start-up', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, PRIVACY_KEY_FILE);
  writeFileSync(path, Buffer.alloc(32, 7), { mode: 0o644 });
  t.same(loadPrivacyKey(dir), Buffer.alloc(32, 7));
  t.equal(statSync(path).mode & 0o777, 0o600);
  writeFileSync(path, 'short');
  t.throws(() => loadPrivacyKey(dir), PrivacyKeyError);
  t.throws(() => loadPrivacyKey(dir), /holds 5 bytes, expected 32/);
});
