/**
 * Real scan captures (psad's test suite, see ../shared/corpus/detect-psad/README.md; evaluation data,
 * never copied into this repository) replayed through parse → minimise → detect on their own
 * timestamps. Every scanner in truth.json must raise the alert its scan type calls for, and nothing
 * else may be alerted on. The scanners use documentation addresses (198.51.100.x: external); the
 * targets are private addresses (internal, pseudonymised on the way).
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import t from 'tap';
import type { Alert } from './alert.js';
import { detectLines } from './replay-file.js';

const corpus = new URL('../../../shared/corpus/detect-psad/', import.meta.url);
const log = new URL('scans-iptables.log', corpus);
const truthFile = new URL('truth.json', corpus);

/** The detector (and kind, where it matters) each scan type must raise. */
function expectedFor(scanType: string): { detector: string; kind?: string } {
  if (scanType === 'syn_sweep') return { detector: 'horizontal-scan' };
  if (scanType === 'proto_scan') return { detector: 'protocol-scan' };
  if (scanType.startsWith('mirai')) return { detector: 'brute-force', kind: 'telnet' };
  if (/^(syn|udp|fin|xmas|null|ack)_scan/.test(scanType)) return { detector: 'vertical-scan' };
  throw new Error(`no expectation for scan type ${scanType}`);
}

if (!existsSync(log) || !existsSync(truthFile)) {
  t.pass('skipped: ../shared/corpus/detect-psad is not present (evaluation data, not in the repository)');
} else {
  t.test('psad captures: every scanner found, by the right detector, and nothing else', async (t) => {
    const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as Record<string, string>;
    const lines = createInterface({ input: createReadStream(log), crlfDelay: Number.POSITIVE_INFINITY });
    const finals: Alert[] = [];
    let summary: Record<string, unknown> | undefined;
    for await (const out of detectLines(lines, { year: 2024 })) {
      // An alert's `summary` is its sentence; the run's summary line has `summary: true` and no id.
      if (!('id' in out)) summary = out as unknown as Record<string, unknown>;
      else if (out.status === 'final') finals.push(out);
    }
    t.equal(summary?.unparsed, 0, 'every line parses');
    for (const [source, scanType] of Object.entries(truth)) {
      const expected = expectedFor(scanType);
      const mine = finals.filter((a) => a.source === source);
      t.ok(
        mine.some(
          (a) =>
            a.detector === expected.detector && (expected.kind === undefined || a.kind === expected.kind),
        ),
        `${source} (${scanType}) raises ${expected.detector}${expected.kind ? `/${expected.kind}` : ''}`,
        { got: mine.map((a) => `${a.detector}/${a.kind}`) },
      );
      t.same(
        mine.filter((a) => a.detector !== expected.detector).map((a) => a.detector),
        [],
        `${source} (${scanType}) raises no other kind of alert`,
      );
    }
    const strangers = finals.filter((a) => truth[a.source] === undefined);
    t.same(
      strangers.map((a) => `${a.detector} about ${a.source}`),
      [],
      'no alert about an address that is not a scanner',
    );
  });
}
