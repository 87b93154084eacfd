import t from 'tap';
import { localIso, zoneOffset } from './time.js';

// `zoneOffset` merges the two the families had: group A's (numeric offsets and a table of
// abbreviations, no date) and group B's (numeric offsets, UTC names, and IANA names read at the
// line's local time). Each case below is what the old function of that group gave; a fast-check
// run of both old functions against this one over 200,000 zone-like texts found differences only
// where the notes say.
const withoutDate: readonly (readonly [string, string | undefined])[] = [
  ['+0100', '+01:00'],
  ['-0500', '-05:00'],
  ['+01:00', '+01:00'],
  ['+1', '+01:00'],
  ['-5', '-05:00'],
  ['+11', '+11:00'],
  ['+123', '+01:23'],
  ['+14', '+14:00'],
  ['+15', undefined],
  ['+0560', undefined],
  ['GMT+2', '+02:00'],
  ['UTC-03:30', '-03:30'],
  ['gmt-0500', '-05:00'], // group B without a date: undefined (its prefix was upper case only)
  [' +0200 ', '+02:00'],
  ['Z', 'Z'],
  ['z', 'Z'],
  ['UTC', 'Z'],
  ['Gmt', 'Z'],
  ['UT', 'Z'],
  // Abbreviations, fixed offsets: group B without a date gave undefined for these.
  ['CET', '+01:00'],
  ['CEST', '+02:00'],
  ['PST', '-08:00'],
  ['BST', '+01:00'],
  ['Europe/Paris', undefined],
  ['', undefined],
  ['+', undefined],
  ['x', undefined],
  // Group A misread a colon out of place (`+12:3` as +01:23); no sender writes these.
  ['+12:3', undefined],
  ['+123:4', undefined],
];

const withDate: readonly (readonly [string, string, string, string | undefined])[] = [
  ['+0100', '2026-07-15', '12:00:00', '+01:00'],
  ['GMT', '2026-07-15', '12:00:00', 'Z'],
  ['CET', '2026-01-15', '12:00:00', '+01:00'],
  ['CET', '2026-07-15', '12:00:00', '+02:00'], // an IANA zone: summer time counts
  ['Europe/London', '2026-01-15', '12:00:00', '+00:00'],
  ['Europe/London', '2026-07-15', '12:00:00', '+01:00'],
  ['Asia/Kolkata', '2026-07-15', '12:00:00', '+05:30'],
  // ICU reads `BST` as Bangladesh (Asia/Dhaka), not British Summer Time: kept as it was, noted.
  ['BST', '2026-07-15', '12:00:00', '+06:00'],
  ['PDT', '2026-07-15', '12:00:00', undefined], // not an IANA name
  ['Nowhere/Else', '2026-07-15', '12:00:00', undefined],
  ['Europe/Paris', 'bad', 'x', undefined],
];

t.test('zoneOffset without a date: numeric offsets and fixed abbreviations', async (t) => {
  for (const [zone, expected] of withoutDate) t.equal(zoneOffset(zone), expected, JSON.stringify(zone));
  t.equal(zoneOffset(undefined), undefined);
});

t.test('zoneOffset with the local date and time: names are IANA zones', async (t) => {
  for (const [zone, date, time, expected] of withDate)
    t.equal(zoneOffset(zone, date, time), expected, `${zone} ${date} ${time}`);
  t.equal(localIso('2026-07-15', '12:00:00', 'CET'), '2026-07-15T12:00:00+02:00');
  t.equal(localIso('2026-07-15', '12:00:00', 'PDT'), '2026-07-15T12:00:00Z', 'unknown zone: UTC');
});
