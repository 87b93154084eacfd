/**
 * What every report section shares: its shape, plain-English names for ports, detectors and
 * countries, and formatting. Every value that came from a log or a device goes through `esc`.
 */
import { escapeHtml } from '../../../common/html.js';
import type { IpInfo } from '../ip-enrichment.js';
import type { MemberReportData } from '../member-report-data.js';

export const esc = escapeHtml;

/** One section of the member report: a pure function from the report's data to an HTML fragment. */
export interface ReportSection {
  /** The fixture file beside it is `<id>.fixtures.json`; also the section's HTML id. */
  readonly id: string;
  readonly title: string;
  render(data: MemberReportData): string;
}

export const COLOURS = { blocked: '#7f8c9a', allowed: '#c0392b' } as const;

export const fmt = (n: number): string => n.toLocaleString('en-GB');

/** "3 March 2025, 14:00 UTC" */
export function when(isoTime: string | null): string {
  if (!isoTime) return 'unknown time';
  const d = new Date(isoTime);
  if (Number.isNaN(d.getTime())) return 'unknown time';
  const date = d.toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
  const time = d.toISOString().slice(11, 16);
  return `${date}, ${time} UTC`;
}

/** "1 March 2025" */
export function day(isoTime: string): string {
  return new Date(isoTime).toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

/** The period as a reader says it: "1 March 2025 to 7 March 2025" (`to` is exclusive). */
export function periodText(data: Pick<MemberReportData, 'from' | 'to'>): string {
  const last = new Date(new Date(data.to).getTime() - 1).toISOString();
  const a = day(data.from);
  const b = day(last);
  return a === b ? a : `${a} to ${b}`;
}

export const plural = (n: number, one: string, many = `${one}s`): string =>
  `${fmt(n)} ${n === 1 ? one : many}`;

const SERVICES: Readonly<Record<number, string>> = {
  20: 'file transfer (FTP data)',
  21: 'file transfer (FTP)',
  22: 'remote login (SSH)',
  23: 'old remote login (Telnet)',
  25: 'mail delivery (SMTP)',
  53: 'name lookups (DNS)',
  80: 'web (HTTP)',
  110: 'mail collection (POP3)',
  123: 'time (NTP)',
  135: 'Windows remote calls (RPC)',
  137: 'Windows names (NetBIOS)',
  139: 'Windows file sharing (NetBIOS)',
  143: 'mail collection (IMAP)',
  161: 'device management (SNMP)',
  389: 'directory (LDAP)',
  443: 'secure web (HTTPS)',
  445: 'Windows file sharing (SMB)',
  465: 'mail submission',
  500: 'VPN (IKE)',
  587: 'mail submission',
  993: 'mail collection (IMAPS)',
  995: 'mail collection (POP3S)',
  1194: 'VPN (OpenVPN)',
  1433: 'database (SQL Server)',
  1723: 'VPN (PPTP)',
  1900: 'device discovery (SSDP)',
  3306: 'database (MySQL)',
  3389: 'Windows remote desktop (RDP)',
  4500: 'VPN (IPsec)',
  5060: 'phones (SIP)',
  5432: 'database (PostgreSQL)',
  5900: 'remote screen (VNC)',
  6379: 'database (Redis)',
  8080: 'web (alternative port)',
  8443: 'secure web (alternative port)',
  10443: 'remote access VPN (SSL-VPN)',
  11211: 'cache (memcached)',
  27017: 'database (MongoDB)',
};

export function serviceName(port: number | null): string {
  if (port === null) return 'no port';
  return SERVICES[port] ?? 'other service';
}

export function portLabel(port: number | null, proto: string | null): string {
  if (port === null) return proto ?? 'unknown';
  return `${port}${proto ? `/${proto}` : ''}`;
}

const DETECTORS: Readonly<Record<string, string>> = {
  'vertical-scan': 'Port scan of one of your machines',
  'horizontal-scan': 'Sweep across your addresses',
  'protocol-scan': 'Protocol scan',
  'brute-force': 'Password guessing',
  flood: 'Flood of traffic',
  beaconing: 'A machine calling out on a regular beat',
  'denied-outbound': 'Blocked connections going out',
  'exposed-service': 'A service open to the internet',
  'intel-hit': 'Contact with a known bad address',
  'worm-fanout': 'A machine spreading to many others',
};

export function detectorName(detector: string): string {
  return DETECTORS[detector] ?? detector;
}

const regions = new Intl.DisplayNames(['en-GB'], { type: 'region' });

export function countryName(code: string | null): string {
  if (!code) return 'unknown';
  try {
    return regions.of(code) ?? code;
  } catch {
    return code;
  }
}

/** "United Kingdom · AS2818 BBC", or "location unknown". Escaped. */
export function whereText(info: IpInfo): string {
  const parts: string[] = [];
  if (info.country) parts.push(esc(countryName(info.country)));
  if (info.asn !== null) parts.push(`AS${info.asn}${info.network ? ` ${esc(info.network)}` : ''}`);
  return parts.length ? parts.join(' · ') : 'location unknown';
}

/** An address or pseudonym, with a note that a pseudonym is one of the member's own machines. */
export function hostText(host: string | null): string {
  if (!host) return '—';
  return host.startsWith('p:')
    ? `<code class="pseudonym" title="one of your machines, under the name your appliance gives it">${esc(host)}</code>`
    : `<code>${esc(host)}</code>`;
}

export function section(s: Pick<ReportSection, 'id' | 'title'>, body: string): string {
  return `<section id="${s.id}"><h2>${esc(s.title)}</h2>\n${body}\n</section>`;
}

export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly boolean[] = [],
): string {
  const head = headers.map((h, i) => `<th${numeric[i] ? ' class="n"' : ''}>${esc(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
