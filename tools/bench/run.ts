/**
 * `npm run bench -- NAME [args]` runs bench/NAME.ts (compiled). Each benchmark prints progress on
 * stderr and ends with one JSON line on stdout; `npm run bench` alone lists them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.endsWith('.test.js'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [args]\navailable: ${available.join(', ')}\n`);
  process.exit(name ? 2 : 0);
}
const script = join(here, `${name}.js`);
if (!existsSync(script)) process.exit(2);
const result = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
