/**
 * Finding the running central from another process (the CLI): `<dataDir>/central.json`, written by
 * `startCentral`, names its pid and ports; a file whose pid is gone is stale (a killed central).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CentralRuntime } from './central.js';

export function runningCentral(dataDir: string): CentralRuntime | undefined {
  const file = join(dataDir, 'central.json');
  if (!existsSync(file)) return undefined;
  try {
    const runtime = JSON.parse(readFileSync(file, 'utf8')) as CentralRuntime;
    process.kill(runtime.pid, 0); // throws when there is no such process
    return runtime;
  } catch {
    return undefined;
  }
}
