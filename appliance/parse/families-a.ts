import { cef } from './cef.js';
import { checkpoint } from './checkpoint.js';
import { ciscoAsa } from './cisco-asa.js';
import { ciscoFtd } from './cisco-ftd.js';
import { fortigate } from './fortigate.js';
import { leef } from './leef.js';
import { panos } from './panos.js';
import type { ParserFamily } from './types.js';

/**
 * Vendor families, group A (Cisco, Fortinet, Palo Alto, Check Point, CEF/LEEF). The generic CEF and
 * LEEF families come last and detect with a lower confidence than the vendors that export them.
 */
export const FAMILIES_A: readonly ParserFamily[] = [
  ciscoAsa,
  ciscoFtd,
  fortigate,
  panos,
  checkpoint,
  cef,
  leef,
];
