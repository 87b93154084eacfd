import { FAMILIES_A } from './families-a.js';
import { FAMILIES_B } from './families-b.js';
import { mikrotik } from './mikrotik.js';
import { netfilter } from './netfilter.js';
import { pfsense } from './pfsense.js';
import type { ParserFamily } from './types.js';

/** Every parser family, in detection tie-break order (earlier wins a tie). Add a family with one line. */
export const FAMILIES: readonly ParserFamily[] = [netfilter, pfsense, mikrotik, ...FAMILIES_A, ...FAMILIES_B];
