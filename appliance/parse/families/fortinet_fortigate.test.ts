import t from 'tap';
import { FIXTURE_NOW } from '../../../test/support/parse-fixtures.js';
import { parseSyslogHeader } from '../header.js';
import { family as fortigate } from './fortinet_fortigate.js';

// Not a fixture line: the parser caches the last date, time and zone it read, and this checks that
// a repeat reads as the first reading did, after another line.
t.test('FortiGate time is the same for a repeated date, time and zone', async (t) => {
  const line = (date: string, time: string, tz: string) =>
    `date=${date} time=${time} logid="0000000013" type="traffic" tz="${tz}" srcip=10.0.0.1 dstip=10.0.0.2 action="deny"`;
  const parse = (raw: string) => fortigate.parse(parseSyslogHeader(raw, FIXTURE_NOW));
  for (const [date, time, tz] of [
    ['2026-11-25', '16:04:56', '+0000'],
    ['2026-11-25', '16:04:56', '-0700'],
    ['2026-11-25', '16:04:56', 'bogus'],
    ['2026-02-30', '16:04:56', '+0100'],
  ] as const) {
    parse(line('2020-01-01', '00:00:00', '+0000'));
    const fresh = parse(line(date, time, tz));
    const repeated = parse(line(date, time, tz));
    t.same(repeated, fresh, `${date} ${time} ${tz}`);
  }
});
