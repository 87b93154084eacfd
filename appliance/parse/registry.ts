import type { ParserFamily } from './types.js';

/** Every parser family, in detection tie-break order. Add a family here with one line. */
export const FAMILIES: readonly ParserFamily[] = [];
