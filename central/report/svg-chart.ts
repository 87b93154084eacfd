/**
 * Charts as inline SVG written on the server: they show in any mail client, browser or PDF with no
 * script. Pure functions; every label goes through escapeHtml (labels may be log-derived).
 */
import { escapeHtml } from '../../common/html.js';

export interface Series {
  readonly name: string;
  /** A CSS colour the page wrote itself, never data. */
  readonly colour: string;
}

export interface BarRow {
  readonly label: string;
  /** One value per series, stacked left to right. */
  readonly values: readonly number[];
}

const fmt = (n: number): string => n.toLocaleString('en-GB');

/** Horizontal stacked bars, one row per label, the total at the end of each bar. */
export function horizontalBarChart(
  title: string,
  series: readonly Series[],
  rows: readonly BarRow[],
  options: { readonly width?: number; readonly labelWidth?: number } = {},
): string {
  const width = options.width ?? 640;
  const labelWidth = options.labelWidth ?? 150;
  const rowHeight = 22;
  const top = 24;
  const height = top + rows.length * rowHeight + 8;
  const totals = rows.map((r) => r.values.reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const barSpace = width - labelWidth - 70;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeHtml(title)}</title>`,
  );
  let legendX = labelWidth;
  for (const s of series) {
    parts.push(
      `<rect x="${legendX}" y="4" width="10" height="10" fill="${s.colour}"/>`,
      `<text x="${legendX + 14}" y="13" font-size="11">${escapeHtml(s.name)}</text>`,
    );
    legendX += 24 + s.name.length * 6.5;
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    parts.push(
      `<text x="${labelWidth - 6}" y="${y + 14}" font-size="12" text-anchor="end">${escapeHtml(row.label)}</text>`,
    );
    let x = labelWidth;
    row.values.forEach((value, j) => {
      const w = (value / max) * barSpace;
      if (w > 0) {
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${Math.max(w, 1).toFixed(1)}" height="${rowHeight - 6}" fill="${series[j]?.colour ?? '#888'}"/>`,
        );
        x += w;
      }
    });
    parts.push(`<text x="${(x + 4).toFixed(1)}" y="${y + 14}" font-size="11">${fmt(totals[i] ?? 0)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Vertical stacked columns, e.g. one per day. */
export function columnChart(
  title: string,
  series: readonly Series[],
  columns: readonly BarRow[],
  options: { readonly width?: number; readonly height?: number } = {},
): string {
  const width = options.width ?? 640;
  const height = options.height ?? 160;
  const top = 22;
  const bottom = 20;
  const plot = height - top - bottom;
  const totals = columns.map((c) => c.values.reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const slot = columns.length ? (width - 40) / columns.length : 0;
  const barWidth = Math.max(2, Math.min(40, slot * 0.7));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<text x="0" y="${top + 8}" font-size="10">${fmt(max)}</text>`,
    `<line x1="36" y1="${top + plot}" x2="${width}" y2="${top + plot}" stroke="#999"/>`,
  ];
  let legendX = 40;
  for (const s of series) {
    parts.push(
      `<rect x="${legendX}" y="4" width="10" height="10" fill="${s.colour}"/>`,
      `<text x="${legendX + 14}" y="13" font-size="11">${escapeHtml(s.name)}</text>`,
    );
    legendX += 24 + s.name.length * 6.5;
  }
  columns.forEach((column, i) => {
    const x = 40 + i * slot + (slot - barWidth) / 2;
    let y = top + plot;
    column.values.forEach((value, j) => {
      const h = (value / max) * plot;
      if (h > 0) {
        y -= h;
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${series[j]?.colour ?? '#888'}"/>`,
        );
      }
    });
    parts.push(
      `<text x="${(x + barWidth / 2).toFixed(1)}" y="${height - 6}" font-size="10" text-anchor="middle">${escapeHtml(column.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
