/**
 * Exposed service: the firewall allowed a connection from the internet to a service that should
 * never face it: remote desktop, Windows file sharing, Telnet, databases, remote-management and
 * out-of-band interfaces. One allowed event is enough (the firewall let it through, whatever the
 * host then did), so this alert is about the member's configuration, keyed by the exposed host.
 *
 * SSH (22) is deliberately not on the list: exposing SSH is a normal, deliberate choice for remote
 * administration, and guessing attacks on it are brute-force's job. Web ports are not on it either.
 * Ports: IANA registry; the "never expose" list follows the CISA/NCSC advisories on RDP, SMB,
 * databases, Winbox (MikroTik 8291), IPMI (623) and SNMP (161).
 */
import type { ConnectionEvent } from '../../../protocol/event.js';
import type { Alert, Severity } from '../alert.js';
import type { CommonSettings, Detector, DetectorContext, DetectorState, EventFacts } from '../detector.js';
import { alertBookFor } from '../kit.js';

export interface ExposedPort {
  readonly port: number;
  readonly service: string;
  readonly severity: Severity;
}

export interface ExposedServiceSettings extends CommonSettings {
  readonly ports: readonly ExposedPort[];
}

const PORTS: readonly ExposedPort[] = [
  { port: 3389, service: 'Remote Desktop (RDP)', severity: 'high' },
  { port: 445, service: 'Windows file sharing (SMB)', severity: 'high' },
  { port: 139, service: 'Windows file sharing (NetBIOS)', severity: 'high' },
  { port: 23, service: 'Telnet', severity: 'high' },
  { port: 2323, service: 'Telnet', severity: 'high' },
  { port: 1433, service: 'Microsoft SQL Server', severity: 'high' },
  { port: 1521, service: 'Oracle database', severity: 'high' },
  { port: 3306, service: 'MySQL database', severity: 'high' },
  { port: 5432, service: 'PostgreSQL database', severity: 'high' },
  { port: 6379, service: 'Redis database', severity: 'high' },
  { port: 9200, service: 'Elasticsearch', severity: 'high' },
  { port: 27017, service: 'MongoDB database', severity: 'high' },
  { port: 11211, service: 'memcached', severity: 'high' },
  { port: 2375, service: 'Docker API', severity: 'high' },
  { port: 5985, service: 'Windows Remote Management', severity: 'high' },
  { port: 5986, service: 'Windows Remote Management', severity: 'high' },
  { port: 623, service: 'IPMI (server out-of-band management)', severity: 'high' },
  { port: 5900, service: 'VNC remote desktop', severity: 'medium' },
  { port: 5901, service: 'VNC remote desktop', severity: 'medium' },
  { port: 8291, service: 'MikroTik Winbox', severity: 'medium' },
  { port: 161, service: 'SNMP', severity: 'medium' },
];

const NAME = 'exposed-service';

export const exposedService: Detector<ExposedServiceSettings> = {
  name: NAME,
  description:
    'the firewall let the internet reach a service that should not face it (RDP, SMB, Telnet, databases, management)',
  defaults: { ports: PORTS, maxTrackedKeys: 10_000, cooldownS: 86_400 },
  create(settings: ExposedServiceSettings, context: DetectorContext): DetectorState {
    const { counters, book } = alertBookFor(NAME, settings, context, (f) => ({
      summary: `Your firewall let ${f.distinctCapped ? 'at least ' : ''}${f.distinctTargets} internet address(es) connect to ${f.detail} (port ${f.ports.join(', ')}) on ${f.source} (${f.events} connections).`,
      advice: `${f.detail} should not be reachable from the internet: attackers search for it constantly. Close the port-forward or firewall rule, and use a VPN for remote access instead.`,
    }));
    const byPort = new Map<number, ExposedPort>();
    for (const p of settings.ports) byPort.set(p.port, p);
    return {
      counters,
      size: () => book.size,
      observe(e: ConnectionEvent, tMs: number, facts: EventFacts, out: Alert[]): void {
        const port = e.dst_port;
        if (!facts.srcExternal || e.action !== 'allow' || port === undefined || e.src_ip === undefined)
          return;
        const exposed = byPort.get(port);
        if (exposed === undefined) return;
        // Behind NAT the log may show the public address and, separately, the host it forwards to.
        const host = e.dst_nat_ip !== undefined && context.isInternal(e.dst_nat_ip) ? e.dst_nat_ip : e.dst_ip;
        if (host === undefined) return;
        const w = facts.weight;
        const extended = book.extend(host, tMs, w, e.src_ip, port, e.proto);
        if (extended) {
          out.push(extended);
          return;
        }
        if (book.isOpen(host, tMs)) return;
        const raised = book.raise(host, tMs, {
          severity: exposed.severity,
          kind: 'allowed-inbound',
          keyRole: 'destination',
          thresholds: { events: 1 },
          firstMs: tMs,
          events: w,
          targets: [e.src_ip],
          ports: [port],
          ...(e.proto !== undefined ? { protocols: [e.proto] } : {}),
          detail: exposed.service,
        });
        if (raised) out.push(raised);
      },
      flush(tMs: number): readonly Alert[] {
        return book.flush(tMs);
      },
    };
  },
};
