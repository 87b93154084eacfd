/** CSV fields (RFC 4180 quoting), for the vendors that log comma-separated values. */

/**
 * Splits CSV text (RFC 4180 quoting: `"a,b"` and `""` for a quote inside quotes) into fields.
 * Linear; a missing closing quote ends the field at the end of the text.
 */
export function splitCsv(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (i < n && text.charCodeAt(i) === 34 /* " */) {
      i++;
      let buf = '';
      let start = i;
      while (i < n) {
        if (text.charCodeAt(i) === 34) {
          if (i + 1 < n && text.charCodeAt(i + 1) === 34) {
            buf += text.slice(start, i + 1);
            i += 2;
            start = i;
            continue;
          }
          break;
        }
        i++;
      }
      buf += text.slice(start, i);
      i++; // closing quote
      // Anything between the closing quote and the next comma is kept, as spreadsheets do.
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        out.push(buf + text.slice(Math.min(i, n)));
        return out;
      }
      out.push(buf + text.slice(i, comma));
      i = comma + 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        out.push(text.slice(i));
        return out;
      }
      out.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}
