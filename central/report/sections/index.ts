/** The member report's sections, in the order the page shows them (one file each, fixtures beside). */
import { alerts } from './alerts.js';
import { allowedTraffic } from './allowed-traffic.js';
import { comparison } from './comparison.js';
import { dataGaps } from './data-gaps.js';
import { devices } from './devices.js';
import type { ReportSection } from './kit.js';
import { services } from './services.js';
import { summary } from './summary.js';
import { topSources } from './top-sources.js';

export const SECTIONS: readonly ReportSection[] = [
  summary,
  alerts,
  allowedTraffic,
  topSources,
  services,
  devices,
  comparison,
  dataGaps,
];
