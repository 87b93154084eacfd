/**
 * Every migration, in the order they apply. Migrations are TypeScript modules rather than .sql files
 * so they compile into dist/ and into a bundled binary with no files to ship beside them.
 * Append only: never edit or renumber one that has been released.
 */
import type { Migration } from '../migrate.js';
import { migration as initial } from './001-initial.js';
import { migration as regions } from './002-regions.js';
import { migration as dailyPartitions } from './003-daily-partitions.js';
import { migration as rollups } from './004-rollups.js';
import { migration as enrolment } from './005-enrolment.js';
import { migration as rollupJob } from './006-rollup-job.js';
import { migration as summaryFields } from './007-summary-fields.js';
import { migration as alertsHealth } from './008-alerts-health.js';
import { migration as batchDigest } from './009-batch-digest.js';
import { migration as findings } from './010-findings.js';
import { migration as alertReports } from './011-alert-reports.js';
import { migration as memberReports } from './012-member-reports.js';
import { migration as deviceHealthFields } from './013-device-health-fields.js';

export const migrations: readonly Migration[] = [
  initial,
  regions,
  dailyPartitions,
  rollups,
  enrolment,
  rollupJob,
  summaryFields,
  alertsHealth,
  batchDigest,
  findings,
  alertReports,
  memberReports,
  deviceHealthFields,
];
