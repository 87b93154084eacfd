/**
 * Dates, times and zone offsets as vendors write them, to ISO-8601 with an offset. Per line: no
 * `Date` built where a string will do.
 */

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/** Month index 0-11 from an English three-letter abbreviation (any case), or undefined. */
export function monthIndex(abbrev: string): number | undefined {
  return MONTHS[abbrev.slice(0, 3).toLowerCase()];
}

/**
 * The year for a year-less date (RFC 3164 `Mmm dd hh:mm:ss`): the year that puts the date closest to
 * `now`, so a December line read on 1 January is last year's and a January line read on
 * 31 December is next year's.
 */
export function inferYear(month: number, day: number, now: Date): number {
  const year = now.getUTCFullYear();
  const candidate = Date.UTC(year, month, day);
  const diff = candidate - now.getTime();
  const halfYearMs = 183 * 24 * 3600 * 1000;
  if (diff > halfYearMs) return year - 1;
  if (diff < -halfYearMs) return year + 1;
  return year;
}

/** Year 10000 in epoch ms: below it `toISOString` writes the plain `YYYY-MM-DDTHH:mm:ss.sssZ`. */
const YEAR_10000_MS = 253402300800000;

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '0000'.slice(0, width - s.length) + s;
}

/**
 * `new Date(ms).toISOString()` for a positive finite `ms`, or undefined when the date is invalid.
 * Years 1970-9999 are formatted here (days to civil date after H. Hinnant's `civil_from_days`):
 * building a Date and formatting it costs several times more, once per line.
 */
export function isoFromEpochMs(ms: number): string | undefined {
  if (!(ms > 0 && ms < YEAR_10000_MS)) {
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  const t = Math.floor(ms); // Date's TimeClip truncates; the same as floor for positive values
  const days = Math.floor(t / 86400000);
  let rest = t - days * 86400000;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hh = Math.floor(rest / 3600000);
  rest -= hh * 3600000;
  const mm = Math.floor(rest / 60000);
  rest -= mm * 60000;
  const ss = Math.floor(rest / 1000);
  const fff = rest - ss * 1000;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${pad(fff, 3)}Z`;
}

/** ISO-8601 text for an epoch in seconds or milliseconds, or undefined when out of range. */
export function epochToIso(value: string | number): string | undefined {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  const ms = n < 1e11 ? n * 1000 : n < 1e14 ? n : n / 1000; // s, ms or µs
  return isoFromEpochMs(ms);
}

/**
 * Normalises a date-time the line wrote as `YYYY-MM-DD[T ]hh:mm:ss[.fff][Z|±hh[:]mm]` to ISO-8601.
 * Without a zone the time is taken as UTC (`Z`): the device's zone is unknown here.
 */
export function isoFromDateTime(date: string, time: string, zone?: string): string | undefined {
  if (date.length !== 10 || time.length < 8) return undefined;
  let z = zone ?? 'Z';
  if (z !== 'Z' && /^[+-]\d{4}$/.test(z)) z = `${z.slice(0, 3)}:${z.slice(3)}`;
  else if (z !== 'Z' && !/^[+-]\d{2}:\d{2}$/.test(z)) z = 'Z';
  const iso = `${date}T${time}${z}`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

const ZONE_ABBREVIATIONS: Readonly<Record<string, string>> = {
  z: 'Z',
  utc: 'Z',
  gmt: 'Z',
  ut: 'Z',
  est: '-05:00',
  edt: '-04:00',
  cst: '-06:00',
  cdt: '-05:00',
  mst: '-07:00',
  mdt: '-06:00',
  pst: '-08:00',
  pdt: '-07:00',
  cet: '+01:00',
  cest: '+02:00',
  met: '+01:00',
  mest: '+02:00',
  wet: '+00:00',
  west: '+01:00',
  eet: '+02:00',
  eest: '+03:00',
  bst: '+01:00',
  jst: '+09:00',
  kst: '+09:00',
  aest: '+10:00',
  aedt: '+11:00',
};

const formatters = new Map<string, Intl.DateTimeFormat | null>();

/** `±hh:mm` from a numeric offset `±h`, `±hh`, `±hmm`, `±hhmm`, `±h:mm` or `±hh:mm`, with an optional
 * `UTC`/`GMT` prefix in any case. */
const NUMERIC_ZONE = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i;

/**
 * An ISO offset (`Z`, `±hh:mm`) for a zone the line wrote as `Z`, `UTC`, `GMT+2`, `+0200`, `-07:00`
 * or a name; undefined when the zone is unknown (the caller then decides). A name is read two ways:
 * with the line's local `date` (`yyyy-MM-dd`) and `time` it is an IANA zone (`Europe/Paris`, `CET`)
 * whose offset at that moment ICU gives, summer time included; without them it can only be a fixed
 * abbreviation (`CET` +01:00, `CEST` +02:00, `PST` -08:00).
 */
export function zoneOffset(zone: string | undefined, date?: string, time?: string): string | undefined {
  if (zone === undefined) return undefined;
  const z = zone.trim();
  if (z === '') return undefined;
  const numeric = NUMERIC_ZONE.exec(z);
  if (numeric) {
    const hh = numeric[2]!.padStart(2, '0');
    const mm = numeric[3] ?? '00';
    if (Number(hh) > 14 || Number(mm) > 59) return undefined;
    return `${numeric[1]}${hh}:${mm}`;
  }
  if (date === undefined || time === undefined) return ZONE_ABBREVIATIONS[z.toLowerCase()];
  const upper = z.toUpperCase();
  if (upper === 'UTC' || upper === 'GMT' || upper === 'Z' || upper === 'UT') return 'Z';
  if (z.length > 40) return undefined;
  // A named zone: its offset at that local time, via ICU. Cached per name; an unknown name is
  // remembered as null so it costs one failed construction only.
  let fmt = formatters.get(z);
  if (fmt === undefined) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', { timeZone: z, timeZoneName: 'longOffset' });
    } catch {
      fmt = null;
    }
    if (formatters.size < 256) formatters.set(z, fmt);
  }
  if (fmt === null) return undefined;
  const guess = Date.parse(`${date}T${time.slice(0, 8)}Z`);
  if (Number.isNaN(guess)) return undefined;
  const name = fmt.formatToParts(guess).find((p) => p.type === 'timeZoneName')?.value ?? '';
  if (name === 'GMT') return 'Z';
  const m = /^GMT([+-]\d{2}):(\d{2})$/.exec(name);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

function isoFromParts(
  year: number,
  month: number,
  day: number,
  time: string,
  zone: string | undefined,
): string | undefined {
  if (month < 0 || month > 11 || day < 1 || day > 31 || year < 1970 || year > 2200) return undefined;
  const iso = `${year}-${pad(month + 1, 2)}-${pad(day, 2)}T${time}${zone ?? 'Z'}`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/** `hh:mm:ss[.fff]` at the start of `text`, or undefined. */
function leadingTime(text: string): string | undefined {
  const m = /^(\d{1,2}):(\d\d):(\d\d)(\.\d{1,9})?/.exec(text);
  if (m === null) return undefined;
  return `${m[1]!.padStart(2, '0')}:${m[2]}:${m[3]}${m[4] !== undefined ? m[4].slice(0, 4) : ''}`;
}

/**
 * ISO-8601 for the date forms found in log bodies: epoch s/ms/µs/ns digits;
 * `yyyy-MM-dd[T ]hh:mm:ss[.f][zone]`; `yyyy/MM/dd hh:mm:ss`; `MMM dd yyyy hh:mm:ss[.f] [zone]`;
 * `dd/MMM/yyyy:hh:mm:ss zone`. Year-less forms return undefined (the header's date is used then).
 * A date without a zone is read as UTC, as `isoFromDateTime` does.
 */
export function parseLooseDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text.length < 8 || text.length > 48) return undefined;
  const c0 = text.charCodeAt(0);
  if (/^\d{9,19}(\.\d+)?$/.test(text)) return epochAnyToIso(text);
  if (c0 >= 48 && c0 <= 57) {
    const m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]+|:)(\d{1,2}:\d\d:\d\d(?:\.\d+)?) ?(.*)$/.exec(
      text,
    );
    if (m !== null) {
      const time = leadingTime(m[4]!);
      if (time === undefined) return undefined;
      const zone = m[5] === '' ? undefined : zoneOffset(m[5]);
      return isoFromParts(Number(m[1]), Number(m[2]) - 1, Number(m[3]), time, zone);
    }
    const clf = /^(\d{1,2})\/([A-Za-z]{3})\/(\d{4}):(\d\d:\d\d:\d\d) ?(.*)$/.exec(text);
    if (clf !== null) {
      const month = monthIndex(clf[2]!);
      if (month === undefined) return undefined;
      const zone = clf[5] === '' ? undefined : zoneOffset(clf[5]);
      return isoFromParts(Number(clf[3]), month, Number(clf[1]), clf[4]!, zone);
    }
    return undefined;
  }
  // `MMM dd yyyy hh:mm:ss[.fff] [zone]`, the CEF `rt` form and Cisco's `logging timestamp` form.
  const m = /^([A-Za-z]{3})[a-z]* +(\d{1,2}),? +(\d{4})[ ,]+(\d{1,2}:\d\d:\d\d(?:\.\d+)?) ?(.*)$/.exec(text);
  if (m !== null) {
    const month = monthIndex(m[1]!);
    const time = leadingTime(m[4]!);
    if (month === undefined || time === undefined) return undefined;
    const zone = m[5] === '' ? undefined : zoneOffset(m[5]);
    return isoFromParts(Number(m[3]), month, Number(m[2]), time, zone);
  }
  // C `asctime`: `Mon Aug  1 03:34:23 2022`.
  const a = /^[A-Za-z]{3} +([A-Za-z]{3}) +(\d{1,2}) +(\d{1,2}:\d\d:\d\d) +(\d{4})$/.exec(text);
  if (a !== null) {
    const month = monthIndex(a[1]!);
    const time = leadingTime(a[3]!);
    if (month === undefined || time === undefined) return undefined;
    return isoFromParts(Number(a[4]), month, Number(a[2]), time, undefined);
  }
  return undefined;
}

/** Epoch digits in seconds, milliseconds, microseconds or nanoseconds (FortiOS `eventtime`). */
export function epochAnyToIso(text: string): string | undefined {
  const dot = text.indexOf('.');
  const whole = dot >= 0 ? text.slice(0, dot) : text;
  if (whole.length < 9 || whole.length > 19) return undefined;
  let ms: number;
  if (whole.length <= 10) ms = Number(text) * 1000;
  else if (whole.length <= 13) ms = Number(whole);
  else if (whole.length <= 16) ms = Math.floor(Number(whole) / 1000);
  else ms = Math.floor(Number(whole.slice(0, whole.length - 6)));
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return isoFromEpochMs(ms);
}

/** ISO-8601 from a local date, time and a zone text in any form `zoneOffset` reads (UTC when absent). */
export function localIso(date: string, time: string, zone?: string): string | undefined {
  return isoFromDateTime(date, time, zoneOffset(zone, date, time) ?? 'Z');
}

/** ISO-8601 (UTC) from `Mmm dd yyyy hh:mm:ss` (Forcepoint, CEF `rt`), or undefined. */
export function isoFromMonthDayYear(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^([A-Za-z]{3}) {1,2}(\d{1,2}) (\d{4}) (\d{2}:\d{2}:\d{2})/.exec(value.trim());
  if (!m) return undefined;
  const month = monthIndex(m[1]!);
  if (month === undefined) return undefined;
  const date = `${m[3]}-${String(month + 1).padStart(2, '0')}-${m[2]!.padStart(2, '0')}`;
  return isoFromDateTime(date, m[4]!);
}
