/**
 * Fleet state cases from fleet-state.jsonl: a device's enrolment, last data and heartbeats (hours
 * before a fixed now, each heartbeat a healthy one with the line's fields changed) in, the state and
 * its reasons (patterns, in order) out. Adding a case is adding a line.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { type DeviceFacts, duration, fleetState, type HeartbeatView } from './fleet-state.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);

const healthy: Omit<HeartbeatView, 'receivedAt'> = {
  version: '0.9.0',
  uptimeS: 86_400,
  cpuLoadPct: 10,
  memoryUsedPct: 40,
  diskTotalBytes: 32e9,
  diskFreeBytes: 20e9,
  temperatureC: 50,
  outboxEvents: 0,
  outboxBytes: 0,
  outboxState: 'ok',
  lostEvents: 0,
  lastUploadAt: hoursAgo(0.05),
  uplinkRestarts: 0,
  detection: true,
  sourceCount: 2,
  activeSources: 2,
  sourceFormats: { fortinet_fortigate: 2 },
  parsed: 1000,
  unparsed: 10,
};

interface Case {
  note: string;
  approvedH: number | null;
  lastDataH: number | null;
  heartbeats: ({ agoH: number } & Partial<HeartbeatView>)[];
  state: string;
  reasons: string[];
}

const cases = readFileSync(new URL('./fleet-state.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Case);

t.ok(cases.length >= 20, 'the fixture file is read');

for (const c of cases) {
  t.test(c.note, async (t) => {
    const facts: DeviceFacts = {
      approvedAt: c.approvedH === null ? null : hoursAgo(c.approvedH),
      lastData: c.lastDataH === null ? null : hoursAgo(c.lastDataH),
      heartbeats: c.heartbeats.map(({ agoH, ...fields }) => ({
        ...healthy,
        ...fields,
        receivedAt: hoursAgo(agoH),
      })),
    };
    const verdict = fleetState(facts, { silentAfterH: 6 }, NOW);
    t.equal(verdict.state, c.state);
    t.equal(verdict.reasons.length, c.reasons.length, `reasons: ${JSON.stringify(verdict.reasons)}`);
    for (const [i, pattern] of c.reasons.entries()) t.match(verdict.reasons[i], new RegExp(pattern));
    if (c.heartbeats[0]) t.equal(verdict.version, '0.9.0');
  });
}

t.test('lastContact is the latest of heartbeat, data and enrolment', async (t) => {
  const verdict = fleetState(
    {
      approvedAt: hoursAgo(10),
      lastData: hoursAgo(2),
      heartbeats: [{ ...healthy, receivedAt: hoursAgo(3) }],
    },
    { silentAfterH: 6 },
    NOW,
  );
  t.same(verdict.lastContact, hoursAgo(2));
  t.same(verdict.lastHeartbeat, hoursAgo(3));
  const longer = fleetState(
    { approvedAt: null, lastData: hoursAgo(7), heartbeats: [] },
    { silentAfterH: 12 },
    NOW,
  );
  t.equal(longer.state, 'degraded', 'silentAfterH is the setting, not a constant');
});

t.test('duration reads like a person wrote it', async (t) => {
  t.equal(duration(60_000), '1 minute');
  t.equal(duration(45 * 60_000), '45 minutes');
  t.equal(duration(7 * 3_600_000), '7 hours');
  t.equal(duration(72 * 3_600_000), '3 days');
});
