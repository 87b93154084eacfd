/**
 * `npm run bench -- fuzz [--inputs N] [--seed S]`: N generated inputs (default 10,000,000) through
 * every decoder of untrusted input — the syslog header parser, auto-detection with every family's
 * parser (`parseMessage`), each family's own `parse` on its own mangled fixture lines, and central's
 * batch decoder on mangled real batches (CBOR and brotli) — counting throws (must be 0) and the
 * slowest single input per target (it must stay in microseconds, not grow with hostile shapes).
 * The suite's property tests (fast-check, bounded) run the same targets on every `npm test`; this is
 * the run at scale. Ends with one JSON line.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseSyslogHeader } from '../../appliance/parse/header.js';
import { FAMILIES, parseMessage } from '../../appliance/parse/registry.js';
import { projectRoot } from '../../common/version.js';
import { compressBatchPayload, decodeBatch, encodeBatch } from '../../protocol/codec.js';
import { generateTraffic } from '../demo/traffic.js';
import { FIXTURE_NOW, fixtureLines } from './lib/fixture-lines.js';

const { values } = parseArgs({
  options: { inputs: { type: 'string', default: '10000000' }, seed: { type: 'string', default: '1' } },
});
const total = Number(values.inputs);

// xorshift32: fast, repeatable for a seed.
let state = Number(values.seed) >>> 0 || 1;
const rand = (n: number): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
};

const NASTY = [
  '"',
  '=',
  ' ',
  ':',
  ',',
  '|',
  '\\',
  '<',
  '>',
  '[',
  ']',
  '{',
  '}',
  '\n',
  '\0',
  '\u00ff',
  '\ud800',
  '%',
  '1',
  '-',
  '.',
];
/** A line with a random stretch replaced, repeated, cut or filled with separators. */
function mangle(line: string): string {
  const i = rand(line.length + 1);
  const j = Math.min(line.length, i + rand(80));
  switch (rand(6)) {
    case 0:
      return line.slice(0, i) + line.slice(j);
    case 1:
      return line.slice(0, i) + line.slice(i, j).repeat(1 + rand(200)) + line.slice(j);
    case 2: {
      let noise = '';
      for (let k = rand(60); k > 0; k--) noise += NASTY[rand(NASTY.length)];
      return line.slice(0, i) + noise + line.slice(j);
    }
    case 3:
      return NASTY[rand(NASTY.length)]!.repeat(rand(5000));
    case 4:
      return line.slice(0, i);
    default: {
      let s = '';
      for (let k = rand(300); k > 0; k--) s += String.fromCharCode(rand(0x250));
      return s;
    }
  }
}

function mangleBytes(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let k = 1 + rand(8); k > 0; k--) out[rand(out.length)] = rand(256);
  return rand(4) === 0 ? out.subarray(0, rand(out.length + 1)) : out;
}

interface Target {
  readonly name: string;
  inputs: number;
  throws: number;
  maxMicros: number;
  readonly run: () => void;
}

const familyDir = join(projectRoot(), 'appliance', 'parse', 'families');
const familyLines = new Map(
  readdirSync(familyDir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => [f.slice(0, -'.jsonl'.length), fixtureLines(join(familyDir, f))] as const),
);
const allLines = [...familyLines.values()].flat();
const traffic = generateTraffic(200, { seed: 5, now: FIXTURE_NOW });
const batches = [1, 50, 2000].map((n) => {
  const events = traffic
    .slice(0, n)
    .map((raw) => parseMessage(raw, FIXTURE_NOW))
    .flatMap((r) => (r.ok ? [r.event] : []));
  const cbor = encodeBatch({ v: 1, device: 'fuzz-device', seq: 1, created: FIXTURE_NOW.getTime(), events });
  return rand(2) === 0 ? cbor : compressBatchPayload(cbor);
});
const pick = <T>(list: readonly T[]): T => list[rand(list.length)]!;

const targets: Target[] = [
  {
    name: 'syslog header',
    inputs: 0,
    throws: 0,
    maxMicros: 0,
    run: () => void parseSyslogHeader(mangle(pick(allLines)), FIXTURE_NOW),
  },
  {
    name: 'detection + family (parseMessage)',
    inputs: 0,
    throws: 0,
    maxMicros: 0,
    run: () => void parseMessage(mangle(pick(allLines)), FIXTURE_NOW),
  },
  ...FAMILIES.map((family): Target => {
    const lines = familyLines.get(family.name) ?? allLines;
    return {
      name: `family ${family.name}`,
      inputs: 0,
      throws: 0,
      maxMicros: 0,
      run: () => {
        const msg = parseSyslogHeader(mangle(pick(lines)), FIXTURE_NOW);
        family.detect(msg);
        family.parse(msg);
      },
    };
  }),
  {
    name: 'central batch decoder',
    inputs: 0,
    throws: 0,
    maxMicros: 0,
    run: () => void decodeBatch(mangleBytes(pick(batches))),
  },
];

const started = performance.now();
for (let n = 0; n < total; n++) {
  const target = targets[n % targets.length]!;
  const t0 = performance.now();
  try {
    target.run();
  } catch (err) {
    target.throws++;
    if (target.throws <= 3) process.stderr.write(`${target.name} threw: ${(err as Error).stack}\n`);
  }
  const micros = (performance.now() - t0) * 1000;
  if (micros > target.maxMicros) target.maxMicros = micros;
  target.inputs++;
  if (n > 0 && n % 1_000_000 === 0) process.stderr.write(`${n / 1_000_000} M inputs\n`);
}
const seconds = (performance.now() - started) / 1000;
const byTarget = Object.fromEntries(
  targets.map((t) => [t.name, { inputs: t.inputs, throws: t.throws, maxMicros: Math.round(t.maxMicros) }]),
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'fuzz',
    inputs: total,
    seed: Number(values.seed),
    throws: targets.reduce((sum, t) => sum + t.throws, 0),
    seconds: Math.round(seconds),
    slowestMicros: Math.round(Math.max(...targets.map((t) => t.maxMicros))),
    byTarget,
  })}\n`,
);
