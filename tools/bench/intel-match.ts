/**
 * `npm run bench -- intel-match [--entries N] [--lookups N] [--v6-share F] [--seed N]`: the
 * appliance's threat-intel matcher (appliance/detect/intel/cidr-set.ts) on a synthetic list of
 * 1,000,000 CIDRs (IPv4 /8–/32, mostly long prefixes as in real blocklists, plus a share of IPv6):
 * build time from text, build time from the packed wire form, memory of the built set (heap +
 * array buffers after GC), the time to apply a 1,000-entry delta, and single-core lookups/s over
 * 5,000,000 address texts (random IPv4 and IPv6, a quarter inside listed ranges). Targets: ≥ 2,000,000
 * lookups/s, ≤ 40 MB. Ends with one JSON line.
 */

import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CidrListBuilder, CidrSet } from '../../appliance/detect/intel/cidr-set.js';
import { formatIpv4, formatIpv6, PackedCidrWriter, readPackedCidrs } from '../../protocol/intel-cidr.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    lookups: { type: 'string', default: '5000000' },
    'v6-share': { type: 'string', default: '0.05' },
    seed: { type: 'string', default: '1' },
  },
});
const entryCount = Number(values.entries);
const lookupCount = Number(values.lookups);
const v6Share = Number(values['v6-share']);

// The runner starts plain `node`; this turns on a callable GC so memory is measured after collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settle = () => {
  for (let i = 0; i < 3; i++) gc();
};
const usedBytes = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

// mulberry32: a seeded PRNG, so runs are comparable.
let state = Number(values.seed) >>> 0;
const random = (): number => {
  state = (state + 0x6d2b79f5) >>> 0;
  let x = state;
  x = Math.imul(x ^ (x >>> 15), x | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};
const u32 = () => (random() * 4294967296) >>> 0;

/**
 * Prefix mix: 70 % /32, 25 % /24–/31, 5 % /16–/23 and 0.002 % /8–/15 (about twenty wide
 * bogon-like blocks, as in FireHOL level 1; more would cover the whole space). Random IPv4
 * addresses then fall in a listed range about a fifth of the time.
 */
function v4Prefix(): number {
  const r = random();
  if (r < 0.7) return 32;
  if (r < 0.95) return 24 + Math.floor(random() * 8);
  if (r < 0.99998) return 16 + Math.floor(random() * 8);
  return 8 + Math.floor(random() * 8);
}
const mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

const texts: string[] = new Array(entryCount);
const v6Words = [0, 0, 0, 0];
for (let i = 0; i < entryCount; i++) {
  if (random() < v6Share) {
    const prefix = 32 + Math.floor(random() * 97); // /32–/128 in 2000::/3
    v6Words[0] = (0x20000000 | (u32() & 0x1fffffff)) >>> 0;
    for (let q = 1; q < 4; q++) v6Words[q] = u32();
    for (let q = 0; q < 4; q++)
      v6Words[q] = (v6Words[q]! & mask(Math.max(0, Math.min(32, prefix - 32 * q)))) >>> 0;
    texts[i] = `${formatIpv6(v6Words)}/${prefix}`;
  } else {
    const prefix = v4Prefix();
    texts[i] = `${formatIpv4((u32() & mask(prefix)) >>> 0)}/${prefix}`;
  }
}
process.stderr.write(`generated ${entryCount.toLocaleString('en-GB')} CIDRs (${v6Share * 100} % IPv6)\n`);

// Packing first also flattens the generated (concatenated) strings, which would otherwise shrink
// during the measured build and hide the set's own memory.
const packed = (() => {
  const writer = new PackedCidrWriter();
  for (const text of texts) writer.addText(text);
  return writer.finish();
})();

settle();
const before = usedBytes();
let started = performance.now();
const builder = new CidrListBuilder();
for (const text of texts) builder.addText(text);
const set = CidrSet.build(builder);
const buildFromTextMs = performance.now() - started;
// The builder's growable arrays are garbage once the set exists; measure what the set keeps.
builder.v4Keys = new Float64Array(0);
builder.v6Words = new Uint32Array(0);
builder.v6Prefix = new Uint8Array(0);
builder.v6Tag = new Uint8Array(0);
settle();
const memoryBytes = usedBytes() - before;
process.stderr.write(
  `build from text ${buildFromTextMs.toFixed(0)} ms; ${set.v4Size.toLocaleString('en-GB')} IPv4 + ${set.v6Size.toLocaleString('en-GB')} IPv6 entries; ` +
    `${(memoryBytes / 1048576).toFixed(1)} MiB measured, ${(set.byteSize() / 1048576).toFixed(1)} MiB in typed arrays\n`,
);

// The appliance builds from the packed wire form (protocol/intel-cidr.ts), not from text.
started = performance.now();
const fromWire = new CidrListBuilder();
readPackedCidrs(packed, 0, Number.POSITIVE_INFINITY, fromWire);
const wireSet = CidrSet.build(fromWire);
const buildFromPackedMs = performance.now() - started;
process.stderr.write(
  `build from packed ${buildFromPackedMs.toFixed(0)} ms (${(packed.length / 1048576).toFixed(1)} MiB packed, ${wireSet.size} entries)\n`,
);

// A delta of 500 adds and 500 removes: the whole index is rebuilt from the merged entries.
const adds = new CidrListBuilder();
const removes = new CidrListBuilder();
for (let i = 0; i < 500; i++) {
  adds.addText(`${formatIpv4(u32())}/32`, 'campaign');
  removes.addText(texts[Math.floor(random() * entryCount)]!);
}
started = performance.now();
const changed = set.withChanges(adds, removes);
const deltaMs = performance.now() - started;
process.stderr.write(`apply 1,000-entry delta ${deltaMs.toFixed(0)} ms (${changed.size} entries)\n`);

// Lookups: a pool of 1,000,000 address texts cycled, so the strings themselves do not dominate memory.
const poolSize = Math.min(lookupCount, 1_000_000);
const pool: string[] = new Array(poolSize);
for (let i = 0; i < poolSize; i++) {
  const r = random();
  if (r < 0.25) {
    // Inside a listed CIDR: its network address plus a random host part.
    const text = texts[Math.floor(random() * entryCount)]!;
    const slash = text.indexOf('/');
    pool[i] = text.includes(':')
      ? text.slice(0, slash)
      : formatIpv4((ipv4Of(text.slice(0, slash)) | (u32() & ~mask(Number(text.slice(slash + 1))))) >>> 0);
  } else if (r < 0.25 + 0.7) {
    pool[i] = formatIpv4(u32());
  } else {
    for (let q = 0; q < 4; q++) v6Words[q] = u32();
    v6Words[0] = (0x20000000 | (v6Words[0]! & 0x1fffffff)) >>> 0;
    pool[i] = formatIpv6(v6Words);
  }
}
function ipv4Of(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

let hits = 0;
for (let i = 0; i < Math.min(poolSize, 200_000); i++) if (set.has(pool[i]!)) hits++; // warm-up
hits = 0;
started = performance.now();
for (let i = 0; i < lookupCount; i++) if (set.has(pool[i % poolSize]!)) hits++;
const lookupSeconds = (performance.now() - started) / 1000;
const lookupsPerS = Math.round(lookupCount / lookupSeconds);
process.stderr.write(
  `${lookupCount.toLocaleString('en-GB')} lookups in ${lookupSeconds.toFixed(2)} s: ${lookupsPerS.toLocaleString('en-GB')}/s, ${((hits / lookupCount) * 100).toFixed(1)} % listed\n`,
);

process.stdout.write(
  `${JSON.stringify({
    bench: 'intel-match',
    entries: set.size,
    v4Entries: set.v4Size,
    v6Entries: set.v6Size,
    buildFromTextMs: Math.round(buildFromTextMs),
    buildFromPackedMs: Math.round(buildFromPackedMs),
    packedBytes: packed.length,
    deltaApplyMs: Math.round(deltaMs),
    memoryMiB: Number((memoryBytes / 1048576).toFixed(1)),
    typedArrayMiB: Number((set.byteSize() / 1048576).toFixed(1)),
    lookups: lookupCount,
    lookupsPerS,
    listedShare: Number((hits / lookupCount).toFixed(3)),
  })}\n`,
);
