import { readFileSync } from 'node:fs';
import t from 'tap';
import { AGENT_NODE_FLAGS } from './node-flags.js';

t.test('the cyberalarm-agent command starts with the flags the harness and units pass', async (t) => {
  const shebang = readFileSync(new URL('./cli.ts', import.meta.url), 'utf8').split('\n')[0]!;
  t.equal(shebang, `#!/usr/bin/env -S node ${AGENT_NODE_FLAGS.join(' ')}`);
});

t.test('every flag is one Node accepts', async (t) => {
  // Node refuses an unknown V8 flag at start-up with "bad option": the agent would not start.
  const { spawnSync } = await import('node:child_process');
  const run = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, '-e', '0'], { encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
});
