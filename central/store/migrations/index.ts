/**
 * Every migration, in the order they apply. Migrations are TypeScript modules rather than .sql files
 * so they compile into dist/ and into a bundled binary with no files to ship beside them.
 * Append only: never edit or renumber one that has been released.
 */
import type { Migration } from '../migrate.js';
import { migration as initial } from './001-initial.js';

export const migrations: readonly Migration[] = [initial];
