import fc from 'fast-check';
import t from 'tap';
import { FIXTURE_NOW, readFixtures, runFixtures } from './fixture-harness.js';
import { fortigate } from './fortigate.js';
import { parseSyslogHeader } from './header.js';

const fixtures = new URL('./fixtures/fortinet_fortigate.jsonl', import.meta.url);

runFixtures(t, fortigate, fixtures);

t.test('never throws on mangled fixture lines or random text', (t) => {
  const lines = readFixtures(fixtures).map((c) => c.raw);
  const mangled = fc
    .tuple(fc.constantFrom(...lines), fc.nat(), fc.nat(), fc.string({ maxLength: 40 }))
    .map(([line, a, b, noise]) => {
      const i = a % (line.length + 1);
      const j = Math.min(line.length, i + (b % 60));
      return line.slice(0, i) + noise + line.slice(j);
    });
  fc.assert(
    fc.property(fc.oneof(mangled, fc.string({ maxLength: 300 })), (raw) => {
      const msg = parseSyslogHeader(raw, FIXTURE_NOW);
      const confidence = fortigate.detect(msg);
      const result = fortigate.parse(msg);
      return confidence >= 0 && confidence <= 1 && (result.ok || result.reason.length > 0);
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 inputs parsed without throwing');
  t.end();
});
