/**
 * The member report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no
 * external resource, so the same bytes work in a browser, as an e-mail body, and through Chromium
 * as the PDF. The sections come from `sections/index.ts` in their order.
 */
import { escapeHtml as esc } from '../../common/html.js';
import type { MemberReportData } from './member-report-data.js';
import { SECTIONS } from './sections/index.js';
import { periodText, when } from './sections/kit.js';

const CSS = `
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1d2731;max-width:820px;margin:24px auto;padding:0 16px;font-size:14px;line-height:1.45}
header{border-bottom:3px solid #1f3a5f;margin-bottom:12px}
h1{font-size:22px;margin:0 0 4px;color:#1f3a5f}
h2{font-size:18px;color:#1f3a5f;border-bottom:1px solid #d5dbe1;padding-bottom:3px;margin-top:28px}
h3{font-size:15px;margin:14px 0 6px}
section{page-break-inside:auto}
.headline{font-size:16px}
.figures{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0}
.figure{flex:1 1 150px;border:1px solid #d5dbe1;border-radius:6px;padding:8px 10px;background:#f6f8fa}
.figure .value{display:block;font-size:24px;font-weight:bold}
.figure .label{font-size:12px;color:#4a5865}
.figure.warn{border-color:#c0392b;background:#fdecea}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:12.5px}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #e3e7eb;vertical-align:top}
th{background:#eef1f4}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all}
code.pseudonym{color:#6c3483}
.none{color:#1e7d32}
.warn-text{color:#a93226}
.muted,.source,.note{color:#5d6d7e;font-size:12px}
ol.alerts{padding-left:18px}
li.alert{margin-bottom:12px;border-left:4px solid #7f8c9a;padding-left:8px}
li.alert.sev-high{border-left-color:#c0392b}
li.alert.sev-medium{border-left-color:#e67e22}
li.alert h3{margin:2px 0}
.badge{font-size:11px;background:#1f3a5f;color:#fff;border-radius:3px;padding:1px 5px;vertical-align:middle}
.alert-summary{margin:4px 0}
.evidence{font-size:12px;color:#4a5865;margin:2px 0}
.advice{background:#f6f8fa;padding:6px 8px;border-radius:4px;margin:4px 0}
svg.chart{max-width:100%;height:auto;margin:6px 0}
footer{margin-top:32px;border-top:1px solid #d5dbe1;padding-top:6px;font-size:11px;color:#5d6d7e}
@page{size:A4;margin:14mm}
`;

export function renderMemberReportHtml(data: MemberReportData): string {
  const body = SECTIONS.map((s) => s.render(data)).join('\n');
  const title = `CyberAlarm report: ${data.memberName}, ${periodText(data)}`;
  return `<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>CyberAlarm report for ${esc(data.memberName)}</h1>
<p>${esc(periodText(data))}${data.forceName ? ` · ${esc(data.forceName)}` : ''} · ${data.devices.length === 1 ? '1 appliance' : `${data.devices.length} appliances`}</p></header>
${body}
<footer>Made by CyberAlarm on ${esc(when(data.generatedAt))} from the data your appliances sent for ${esc(when(data.from))} to ${esc(when(data.to))}. Your machines' addresses never leave your network: they appear under private names. ${data.enrichment.available ? `IP location data: ${esc(data.enrichment.source)}; <a href="https://db-ip.com">IP Geolocation by DB-IP</a>.` : ''}</footer>
</body></html>
`;
}
