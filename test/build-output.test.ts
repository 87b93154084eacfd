/**
 * What `npm run build` emits is what ships: the apps, the shared code and the tools, never a test,
 * a test fixture or test support (`tsconfig.build.json`), and a bill of materials of the runtime
 * dependencies (`npm sbom`, CycloneDX). `npm test` builds before it runs this.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { projectRoot } from '../common/version.js';

const dist = join(projectRoot(), 'dist');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [relative(dist, join(dir, entry.name))],
  );
}

t.test('dist holds the binaries and no test file', { skip: !existsSync(dist) && 'not built' }, async (t) => {
  const all = files(dist);
  t.ok(all.includes('appliance/cli.js') && all.includes('central/cli.js'), 'both binaries are built');
  t.ok(all.includes('appliance/pipeline/pool/worker.js'), 'the parse worker entry is built');
  const tests = all.filter((f) => /\.test\.js$|\.fixture\.js$|^test\//.test(f));
  t.same(tests, [], 'no tests, fixtures or test support');
});

t.test(
  'the build writes a CycloneDX bill of materials of what ships',
  { skip: !existsSync(dist) && 'not built' },
  async (t) => {
    const bom = JSON.parse(readFileSync(join(dist, 'sbom.cdx.json'), 'utf8')) as {
      bomFormat: string;
      components: { name: string; version: string; purl?: string }[];
    };
    t.equal(bom.bomFormat, 'CycloneDX');
    const names = new Set(bom.components.map((c) => c.name));
    // playwright-core ships too: central drives Chromium with it for report PDFs (optional at run time).
    for (const runtime of [
      'lmdb',
      'cbor-x',
      'mqtt',
      'aedes',
      '@electric-sql/pglite',
      'fastify',
      'playwright-core',
    ]) {
      t.ok(names.has(runtime), `lists ${runtime}`);
    }
    for (const devOnly of ['tap', 'typescript', '@biomejs/biome', 'smtp-server']) {
      t.notOk(names.has(devOnly), `leaves out the development tool ${devOnly}`);
    }
    t.ok(
      bom.components.every((c) => c.version !== '' && c.purl?.startsWith('pkg:npm/')),
      'each with a version and a package URL',
    );
  },
);
