/**
 * Country and network (ASN) of an outside address, offline: the report never sends an attacker's
 * address anywhere to look it up.
 *
 * The data come from two optional npm packages of sapics/ip-location-db, both under CC BY 4.0
 * (redistribution allowed with attribution, which the report prints):
 * - `@ip-location-db/geo-whois-asn-country`: country per range (NRO whois, geofeeds);
 * - `@ip-location-db/asn`: AS number and name per range (RouteViews, the five RIRs, DB-IP's
 *   "IP to ASN Lite").
 * The package says its npm releases are frozen and may hold errors, so a country or network in the
 * report is a lead, not evidence; the report says where the data come from.
 * When a package is not installed, `loadIpEnricher` returns an enricher that answers unknown and
 * says why (the report then says "location unknown"), never an error.
 *
 * Loading reads the packages' CSV files once per process (~0.5 s, ~60 MB of typed arrays and
 * strings); each lookup is a binary search.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FAMILY_V4, FAMILY_V6, parseAddressInto } from '../../protocol/intel-cidr.js';

export interface IpInfo {
  /** ISO 3166-1 alpha-2 (`GB` for the UK), or null when unknown. */
  readonly country: string | null;
  readonly asn: number | null;
  /** The network's (AS) name. */
  readonly network: string | null;
}

export interface IpEnricher {
  readonly available: boolean;
  /** Where the data come from (the attribution the licences ask for), or why there are none. */
  readonly source: string;
  lookup(ip: string): IpInfo;
}

const UNKNOWN: IpInfo = Object.freeze({ country: null, asn: null, network: null });

export const UNKNOWN_ENRICHER: IpEnricher = Object.freeze({
  available: false,
  source: 'no offline location database is installed',
  lookup: () => UNKNOWN,
});

/**
 * Sorted, non-overlapping ranges of one address family: starts and ends as 4 words each (IPv4 uses
 * the first word only), a value index per range.
 */
class RangeTable {
  private starts: Uint32Array;
  private ends: Uint32Array;
  private values: Int32Array;
  private count = 0;
  constructor(
    private readonly words: 1 | 4,
    capacity: number,
  ) {
    this.starts = new Uint32Array(capacity * words);
    this.ends = new Uint32Array(capacity * words);
    this.values = new Int32Array(capacity);
  }
  add(start: Uint32Array, end: Uint32Array, value: number): void {
    if (this.count === this.values.length) this.grow();
    const w = this.words;
    for (let i = 0; i < w; i++) {
      this.starts[this.count * w + i] = start[i] ?? 0;
      this.ends[this.count * w + i] = end[i] ?? 0;
    }
    this.values[this.count++] = value;
  }
  private grow(): void {
    const w = this.words;
    const size = this.values.length * 2 + 16;
    const starts = new Uint32Array(size * w);
    starts.set(this.starts);
    const ends = new Uint32Array(size * w);
    ends.set(this.ends);
    const values = new Int32Array(size);
    values.set(this.values);
    this.starts = starts;
    this.ends = ends;
    this.values = values;
  }
  private compare(table: Uint32Array, index: number, key: Uint32Array): number {
    const w = this.words;
    for (let i = 0; i < w; i++) {
      const a = table[index * w + i] as number;
      const b = key[i] as number;
      if (a !== b) return a < b ? -1 : 1;
    }
    return 0;
  }
  /** The value of the range holding `key`, or -1. */
  find(key: Uint32Array): number {
    let lo = 0;
    let hi = this.count - 1;
    let candidate = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.starts, mid, key) <= 0) {
        candidate = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (candidate < 0 || this.compare(this.ends, candidate, key) < 0) return -1;
    return this.values[candidate] as number;
  }
}

/** Splits one CSV line of these files (a quoted last field may hold commas). */
function fields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else value += line[i++];
      }
      out.push(value);
      i++; // the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

interface Loaded {
  readonly v4: RangeTable;
  readonly v6: RangeTable;
}

/** Reads `<prefix>-ipv4.csv` and `<prefix>-ipv6.csv` (text addresses: one parser for both families). */
function loadTables(dir: string, prefix: string, value: (row: string[]) => number): Loaded {
  const v4 = new RangeTable(1, 1 << 18);
  const v6 = new RangeTable(4, 1 << 17);
  const start = new Uint32Array(4);
  const end = new Uint32Array(4);
  for (const [family, table] of [
    ['ipv4', v4],
    ['ipv6', v6],
  ] as const) {
    const text = readFileSync(join(dir, `${prefix}-${family}.csv`), 'utf8');
    let at = 0;
    while (at < text.length) {
      let nl = text.indexOf('\n', at);
      if (nl < 0) nl = text.length;
      const line = text.slice(at, nl).trimEnd();
      at = nl + 1;
      if (line.length === 0) continue;
      const row = fields(line);
      const f1 = parseAddressInto(row[0] ?? '', start);
      const f2 = parseAddressInto(row[1] ?? '', end);
      const want = family === 'ipv4' ? FAMILY_V4 : FAMILY_V6;
      if (f1 !== want || f2 !== want) continue;
      table.add(start, end, value(row));
    }
  }
  return { v4, v6 };
}

function packageDir(name: string): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

let cached: IpEnricher | undefined;

/** The offline enricher over the installed packages (once per process), or UNKNOWN_ENRICHER. */
export function loadIpEnricher(): IpEnricher {
  if (cached) return cached;
  const countryDir = packageDir('@ip-location-db/geo-whois-asn-country');
  const asnDir = packageDir('@ip-location-db/asn');
  if (!countryDir && !asnDir) {
    cached = {
      ...UNKNOWN_ENRICHER,
      source:
        'no offline location database is installed (the optional packages @ip-location-db/geo-whois-asn-country and @ip-location-db/asn)',
    };
    return cached;
  }
  const countries: string[] = [];
  const countryIndex = new Map<string, number>();
  const country = countryDir
    ? loadTables(countryDir, 'geo-whois-asn-country', (row) => {
        const code = (row[2] ?? '').toUpperCase();
        let index = countryIndex.get(code);
        if (index === undefined) {
          index = countries.push(code) - 1;
          countryIndex.set(code, index);
        }
        return index;
      })
    : undefined;
  const asns: { asn: number; name: string }[] = [];
  const asnIndex = new Map<string, number>();
  const asn = asnDir
    ? loadTables(asnDir, 'asn', (row) => {
        const key = `${row[2]}\u0000${row[3] ?? ''}`;
        let index = asnIndex.get(key);
        if (index === undefined) {
          index = asns.push({ asn: Number(row[2]), name: row[3] ?? '' }) - 1;
          asnIndex.set(key, index);
        }
        return index;
      })
    : undefined;
  const words = new Uint32Array(4);
  const sources = [
    countryDir ? 'country: NRO whois data via ip-location-db (CC BY 4.0)' : 'country: not installed',
    asnDir
      ? 'network: RouteViews and DB-IP IP to ASN Lite (db-ip.com) via ip-location-db (CC BY 4.0)'
      : 'network: not installed',
  ];
  cached = {
    available: true,
    source: sources.join('; '),
    lookup(ip: string): IpInfo {
      const family = parseAddressInto(ip, words);
      if (family !== FAMILY_V4 && family !== FAMILY_V6) return UNKNOWN;
      const pick = (t: Loaded) => (family === FAMILY_V4 ? t.v4 : t.v6);
      const c = country ? pick(country).find(words) : -1;
      const a = asn ? pick(asn).find(words) : -1;
      const as = a >= 0 ? asns[a] : undefined;
      return {
        country: c >= 0 ? (countries[c] ?? null) : null,
        asn: as && Number.isFinite(as.asn) ? as.asn : null,
        network: as?.name || null,
      };
    },
  };
  return cached;
}
