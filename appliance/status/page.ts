/** The member's status page (first cut: the full page with enrolment QR comes with enrolment).
 * Everything that came from logs is escaped: a log line carrying `<script>` shows as text. */
import type { AgentStatus } from './status.js';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function renderStatusPage(status: AgentStatus): string {
  const rows = status.sources
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.source)}</td><td>${escapeHtml(s.format ?? '—')}</td><td>${s.messages}</td>` +
        `<td>${s.unparsed}</td><td>${s.rateLimited}</td><td>${escapeHtml(s.lastSeen)}</td><td><pre>${s.unparsedSamples.map(escapeHtml).join('\n')}</pre></td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>CyberAlarm appliance ${escapeHtml(status.device.id)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}pre{margin:0;white-space:pre-wrap;font-size:.8rem}</style>
</head><body>
<h1>CyberAlarm appliance</h1>
<p>Device <b>${escapeHtml(status.device.id)}</b> · version ${escapeHtml(status.device.version)} · up ${status.device.uptimeS} s</p>
<h2>Connection to central</h2>
<p>${escapeHtml(status.uplink.state)} (${escapeHtml(status.central)}) · last upload ${escapeHtml(status.uplink.lastAckAt ?? 'never')}</p>
<h2>Outbox</h2>
<p>${status.outbox.depthBatches} batches / ${status.outbox.depthEvents} events waiting · ${status.outbox.acceptedEvents} accepted · ${status.outbox.ackedEvents} delivered · ${status.outbox.writeErrors} write errors</p>
<h2>Log sources</h2>
<table><thead><tr><th>source</th><th>format</th><th>messages</th><th>unparsed</th><th>rate-limited</th><th>last seen</th><th>unparsed samples</th></tr></thead><tbody>${rows}</tbody></table>
<p><a href="/api/status">/api/status</a> · <a href="/metrics">/metrics</a></p>
</body></html>`;
}
