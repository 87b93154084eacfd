/**
 * Organisations as issue 5 describes them: regions → forces → members → devices.
 *
 * - `regions` becomes a table (001 had a free-text label on forces): region and national reports
 *   hang off it. Existing labels become region rows with the label as both id and name, so nothing
 *   a field install typed in is lost.
 * - `forces.region_id` stays nullable: a force can be created before it is placed in a region.
 * - `members.org` is renamed `name`; `sector` (e.g. "education", "charity") groups members in
 *   trend reports; `contact` is where reports go. Both nullable: enrolment may not know them yet.
 * - Devices already belong to members (nullable until enrolment binds them, 001).
 *
 * Nothing is seeded: a fresh install has no regions, forces or members until an operator adds them.
 */
import type { Migration } from '../migrate.js';

export const migration: Migration = {
  version: 2,
  name: 'regions',
  sql: `
CREATE TABLE regions (
  region_id text PRIMARY KEY,
  name text NOT NULL
);

ALTER TABLE forces ADD COLUMN region_id text REFERENCES regions (region_id);
INSERT INTO regions (region_id, name) SELECT DISTINCT region, region FROM forces WHERE region IS NOT NULL;
UPDATE forces SET region_id = region WHERE region IS NOT NULL;
ALTER TABLE forces DROP COLUMN region;
-- Region reports list a region's forces.
CREATE INDEX forces_region_id ON forces (region_id);

ALTER TABLE members RENAME COLUMN org TO name;
ALTER TABLE members ADD COLUMN sector text, ADD COLUMN contact text;
`,
};
