/**
 * A detector's alert (appliance/detect/alert.ts) as the wire carries it (protocol/alert.ts): the
 * same fields, copied into plain mutable arrays, with the sentences cut to the wire's byte bound and
 * the samples to its counts. Pure; the outbox calls it in `appendAlert`.
 */
import {
  type AlertRecord,
  fitAlertText,
  MAX_ALERT_PORTS,
  MAX_ALERT_PROTOCOLS,
  MAX_ALERT_TARGETS,
} from '../../protocol/alert.js';
import type { Alert } from '../detect/alert.js';

export function toAlertRecord(alert: Alert): AlertRecord {
  return {
    id: alert.id,
    detector: alert.detector,
    kind: alert.kind,
    status: alert.status,
    severity: alert.severity,
    source: alert.source,
    keyRole: alert.keyRole,
    targets: alert.targets.slice(0, MAX_ALERT_TARGETS),
    ports: alert.ports.slice(0, MAX_ALERT_PORTS),
    protocols: alert.protocols.slice(0, MAX_ALERT_PROTOCOLS),
    events: alert.events,
    distinctTargets: alert.distinctTargets,
    distinctPorts: alert.distinctPorts,
    distinctCapped: alert.distinctCapped,
    firstSeen: alert.firstSeen,
    lastSeen: alert.lastSeen,
    thresholds: { ...alert.thresholds },
    label: alert.label,
    summary: fitAlertText(alert.summary),
    advice: fitAlertText(alert.advice),
  };
}
