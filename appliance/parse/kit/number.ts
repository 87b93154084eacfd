/** Ports and counters from text: digit loops, no `Number()` (which accepts `0x10`, ` 1`, `1e3`). */

/** The value of `value` when it is 1 to `maxDigits` ASCII digits, else undefined. */
function digits(value: string | undefined, maxDigits: number): number | undefined {
  if (value === undefined || value.length === 0 || value.length > maxDigits) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n;
}

/** A port number 0-65535 from text, or undefined. */
export function parsePort(value: string | undefined): number | undefined {
  const n = digits(value, 5);
  return n !== undefined && n <= 65535 ? n : undefined;
}

/** A non-negative safe integer from text (byte and packet counters), or undefined. */
export function parseCount(value: string | undefined): number | undefined {
  return digits(value, 15);
}

/** Sum of two optional counters; undefined when both are absent. */
export function sum(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a + b;
}

/** Sum of two counters given as text (`sent` and `received` bytes); undefined when neither reads. */
export function sumCounts(a: string | undefined, b: string | undefined): number | undefined {
  return sum(parseCount(a), parseCount(b));
}
