/**
 * Text hygiene at the privacy boundary. The wire limits a string to `limits.maxStringBytes` UTF-8
 * bytes while the schema's `maxLength` counts UTF-16 code units; a value must satisfy both, so it is
 * cut at whichever limit comes first, never inside a surrogate pair. Control characters go: C0 (NUL
 * included, which PostgreSQL text cannot hold), DEL, C1, and the line/paragraph separators
 * U+2028/U+2029 that break line-oriented logs; lone surrogates go too (they have no UTF-8 form).
 */

function isDropped(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
}

export interface CleanTextResult {
  readonly text: string;
  /** Characters removed as control characters or lone surrogates. */
  readonly stripped: number;
  /** Whether the value was cut to fit its limits. */
  readonly clamped: boolean;
}

/**
 * `value` without control characters, at most `maxUnits` UTF-16 units and `maxBytes` UTF-8 bytes.
 * Returns the same string (no allocation) for the common case: printable ASCII within the limits.
 */
export function cleanText(value: string, maxUnits: number, maxBytes: number): CleanTextResult | string {
  const n = value.length;
  if (n <= maxUnits && n <= maxBytes) {
    let plain = true;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) {
        plain = false;
        break;
      }
    }
    if (plain) return value;
  }
  let out = '';
  let units = 0;
  let bytes = 0;
  let stripped = 0;
  let clamped = false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    let width: number;
    let size: number;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < n ? value.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) {
        stripped++;
        continue;
      }
      width = 2;
      size = 4;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      stripped++;
      continue;
    } else if (isDropped(c)) {
      stripped++;
      continue;
    } else {
      width = 1;
      size = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    }
    if (units + width > maxUnits || bytes + size > maxBytes) {
      clamped = true;
      break;
    }
    out += width === 2 ? value.slice(i, i + 2) : value[i];
    units += width;
    bytes += size;
    if (width === 2) i++;
  }
  return { text: out, stripped, clamped };
}

/** UTF-8 length of a string without encoding it. */
export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}
