/**
 * The configuration error and flag naming, apart from the schema machinery in `config.ts` (and its
 * TypeBox and YAML), so checks that run in worker threads can raise them without loading those.
 */
export { ConfigError } from './errors.js';

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
