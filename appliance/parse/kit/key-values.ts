/**
 * `key=value` text, the body of most vendors' logs. Linear in the line length; see `scanKeyValues`.
 */
import { hasAt } from './text.js';

// The keys of the previous `parseKeyValuesInto` call, by pair index, and the separator they were
// split with. A source writes the same keys in the same order line after line: a key found in place
// at the same index reuses the previous string and slot (no slice, no look-up). Only the fixed-key
// reading guesses: keeping every key of lines that each have their own layout (the `Map` callers'
// vendors, mixed in the benchmarks) costs more than the guesses save.
let previousKeys: string[] = [];
const MAX_KEY_GUESSES = 64;
let previousSeparator = '';
// For `parseKeyValuesInto`: the slot of each guessed key in `guessSlotsOf` (-2: not looked up yet).
const guessSlots = new Int32Array(MAX_KEY_GUESSES).fill(-2);
let guessSlotsOf: ReadonlyMap<string, number> | undefined;
const NO_GUESSES: string[] = [];

/**
 * Splits `key=value key2="quoted value" key3=` text into a map. Values may be double-quoted (with
 * backslash escapes) or run to the next separator. Keys are kept as written. Linear in the line
 * length: the next `=` and the next separator are found with `indexOf` (a `memchr`) and remembered
 * until passed, so the characters of keys and values are not visited one by one.
 */
export function parseKeyValues(text: string, separator = ' '): Map<string, string> {
  const out = new Map<string, string>();
  scanKeyValues(text, separator, out, undefined, undefined);
  return out;
}

/**
 * `parseKeyValues` for a parser that reads a fixed set of keys: `values[slots.get(key)]` becomes what
 * `parseKeyValues(text, separator).get(key)` would return, for every key in `slots` (the rest of
 * `values` is cleared). Other pairs are skipped without copying their values, and no map is built.
 */
export function parseKeyValuesInto(
  text: string,
  separator: string,
  slots: ReadonlyMap<string, number>,
  values: (string | undefined)[],
): void {
  values.fill(undefined);
  scanKeyValues(text, separator, undefined, slots, values);
}

/** Fills `out` with every pair (when given), else `values` with the pairs `slots` names. */
function scanKeyValues(
  text: string,
  separator: string,
  out: Map<string, string> | undefined,
  slots: ReadonlyMap<string, number> | undefined,
  values: (string | undefined)[] | undefined,
): void {
  const sep = separator.charCodeAt(0);
  const sepText = separator.length > 0 ? separator.charAt(0) : '';
  let guesses = NO_GUESSES;
  if (slots !== undefined) {
    // A key holds neither `=` nor the separator it was split with; one split with another separator
    // (a comma-separated key may hold spaces) is not a valid guess.
    if (sepText !== previousSeparator) {
      previousKeys = [];
      previousSeparator = sepText;
    }
    if (slots !== guessSlotsOf) {
      guessSlots.fill(-2);
      guessSlotsOf = slots;
    }
    guesses = previousKeys;
  }
  const n = text.length;
  let nextEq = -1; // first `=` at or after the scan position (n when none), valid while >= i
  let nextSep = -1; // likewise for the separator
  let nextBackslash = -1; // and for `\` (quoted values)
  let pair = 0;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    while (c === sep || c === 32) {
      if (++i >= n) return;
      c = text.charCodeAt(i);
    }
    let key: string;
    let guessed = false;
    const guess = pair < guesses.length ? guesses[pair]! : undefined;
    if (guess !== undefined && text.charCodeAt(i + guess.length) === 61 /* = */ && hasAt(text, i, guess)) {
      // The `=` right after the guess is the first at or after `i`, and no separator lies before it.
      key = guess;
      guessed = true;
      nextEq = i + guess.length;
    } else {
      if (nextEq < i) {
        nextEq = text.indexOf('=', i);
        if (nextEq < 0) nextEq = n;
      }
      if (nextSep < i) {
        nextSep = sepText === '' ? n : text.indexOf(sepText, i);
        if (nextSep < 0) nextSep = n;
      }
      if (nextSep < nextEq || nextEq === n) {
        i = nextSep < nextEq ? nextSep : n; // a bare word, not a pair
        continue;
      }
      key = text.slice(i, nextEq);
      if (pair < MAX_KEY_GUESSES && guesses !== NO_GUESSES) {
        guesses[pair] = key;
        guessSlots[pair] = -2;
      }
    }
    // Where the value goes: -1 for nowhere (an empty key, or one the caller did not ask for).
    let slot: number;
    if (key.length === 0) slot = -1;
    else if (slots === undefined) slot = 0;
    else if (guessed && guessSlots[pair]! !== -2) slot = guessSlots[pair]!;
    else {
      slot = slots.get(key) ?? -1;
      if (pair < MAX_KEY_GUESSES) guessSlots[pair] = slot;
    }
    pair++;
    i = nextEq + 1;
    let value = '';
    if (i < n && text.charCodeAt(i) === 34 /* " */) {
      i++;
      let close = text.indexOf('"', i);
      if (close < 0) close = n;
      if (nextBackslash < i) {
        nextBackslash = text.indexOf('\\', i);
        if (nextBackslash < 0) nextBackslash = n;
      }
      if (nextBackslash >= close) {
        if (slot >= 0) value = text.slice(i, close);
        i = close + 1;
      } else {
        let buf = '';
        let start = i;
        while (i < n && text.charCodeAt(i) !== 34) {
          if (text.charCodeAt(i) === 92 /* \ */ && i + 1 < n) {
            buf += text.slice(start, i);
            i++;
            start = i;
          }
          i++;
        }
        value = buf + text.slice(start, i);
        i++;
      }
    } else {
      if (nextSep < i) {
        nextSep = sepText === '' ? n : text.indexOf(sepText, i);
        if (nextSep < 0) nextSep = n;
      }
      if (slot >= 0) value = text.slice(i, nextSep);
      i = nextSep;
    }
    if (slot < 0) continue;
    if (out !== undefined) out.set(key, value);
    else values![slot] = value;
  }
}
