/**
 * The agent and its parse worker as two CommonJS bundles for the single executable (`build-agent.ts`).
 * What the normal build does at run time and a SEA cannot, done here at bundle time instead:
 * - lmdb and cbor-x: their CommonJS builds (`dist/*.cjs`), not the ESM ones esbuild would pick for an
 *   `import`;
 * - native addons: `node-gyp-build-optional-packages` (how lmdb, cbor-extract and msgpackr-extract
 *   find their `.node` file) becomes `runtime/native.ts`, which loads the addon from a SEA asset;
 * - `parse/registry.ts` imports `families/<name>.js` by name with a top-level await: here it gets one
 *   static import per `FAMILY_NAMES` entry (same order, same name check);
 * - `cli.ts` ends with a top-level `await program.parseAsync()`: a CommonJS main cannot, so the
 *   promise is left running (a rejection still ends the process with an error);
 * - `common/version.ts` finds package.json from its own file: the version is written in instead;
 * - `import.meta.url` is the executable's file URL.
 * Every rewrite checks that the text it replaces is there, so a change to those files fails the
 * build instead of silently producing a different binary.
 */
import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { FAMILY_NAMES } from '../../appliance/parse/family-names.js';
import { projectRoot } from '../../common/version.js';

export const ROOT = projectRoot();
const NODE_MODULES = join(ROOT, 'node_modules');
const RUNTIME_NATIVE = join(ROOT, 'tools', 'sea', 'runtime', 'native.ts');

function rewrite(file: string, source: string, from: string | RegExp, to: string): string {
  const matches =
    typeof from === 'string' ? source.split(from).length - 1 : (source.match(from) ?? []).length;
  if (matches !== 1) {
    throw new Error(`tools/sea: expected exactly one ${String(from)} in ${file}, found ${matches}`);
  }
  return source.replace(from, () => to);
}

/** The package a file belongs to (`lmdb`, `@lmdb/lmdb-linux-x64`, …), from its node_modules path. */
function packageOf(file: string): string | undefined {
  const parts = file.split(sep);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return undefined;
  const first = parts[i + 1];
  return first?.startsWith('@') ? `${first}/${parts[i + 2]}` : first;
}

function seaPlugin(natives: Set<string>, version: string): Plugin {
  return {
    name: 'cyberalarm-sea',
    setup(b) {
      b.onResolve({ filter: /^lmdb$/ }, () => ({ path: join(NODE_MODULES, 'lmdb', 'dist', 'index.cjs') }));
      b.onResolve({ filter: /^cbor-x$/ }, () => ({ path: join(NODE_MODULES, 'cbor-x', 'dist', 'node.cjs') }));
      b.onResolve({ filter: /^node-gyp-build-optional-packages$/ }, (args) => {
        const pkg = packageOf(args.importer);
        if (pkg === undefined) throw new Error(`native loader imported from ${args.importer}`);
        natives.add(pkg);
        return { path: pkg, namespace: 'sea-native' };
      });
      b.onLoad({ filter: /.*/, namespace: 'sea-native' }, (args) => ({
        contents:
          `const { loadNative } = require(${JSON.stringify(RUNTIME_NATIVE)});\n` +
          `module.exports = () => loadNative(${JSON.stringify(args.path)});\n`,
        resolveDir: ROOT,
        loader: 'js',
      }));

      const registry = join(ROOT, 'appliance', 'parse', 'registry.ts');
      b.onLoad({ filter: /[\\/]appliance[\\/]parse[\\/]registry\.ts$/ }, (args) => {
        if (args.path !== registry) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const start = source.indexOf('export const FAMILIES: readonly ParserFamily[] = await Promise.all(');
        const end = source.indexOf('\n);\n', start);
        if (start < 0 || end < 0)
          throw new Error('tools/sea: parse/registry.ts no longer loads FAMILIES as expected');
        const imports = FAMILY_NAMES.map(
          (name, i) => `import { family as family${i} } from './families/${name}.js';`,
        ).join('\n');
        const list = FAMILY_NAMES.map((name, i) => `[${JSON.stringify(name)}, family${i}]`).join(', ');
        const replacement =
          `${imports}\nexport const FAMILIES: readonly ParserFamily[] = ([${list}] as [string, ParserFamily | undefined][]).map(([name, family]) => {\n` +
          '  if (family?.name !== name) throw new Error("families/" + name + ".ts must export the family named " + name);\n' +
          '  return family;\n});\n';
        return { contents: source.slice(0, start) + replacement + source.slice(end + 4), loader: 'ts' };
      });

      const cli = join(ROOT, 'appliance', 'cli.ts');
      b.onLoad({ filter: /[\\/]appliance[\\/]cli\.ts$/ }, (args) => {
        if (args.path !== cli) return undefined;
        const source = readFileSync(args.path, 'utf8');
        return {
          contents: rewrite(
            args.path,
            source,
            /^await program\.parseAsync\(\);$/m,
            'void program.parseAsync();',
          ),
          loader: 'ts',
        };
      });

      const versionFile = join(ROOT, 'common', 'version.ts');
      b.onLoad({ filter: /[\\/]common[\\/]version\.ts$/ }, (args) => {
        if (args.path !== versionFile) return undefined;
        const source = readFileSync(args.path, 'utf8');
        rewrite(args.path, source, 'export const VERSION: string', '');
        return {
          contents:
            '/** The single executable has no project root: the working directory stands in. */\n' +
            'export function projectRoot(): string { return process.cwd(); }\n' +
            `export const VERSION: string = ${JSON.stringify(version)};\n`,
          loader: 'ts',
        };
      });
    },
  };
}

export interface Bundles {
  readonly agent: string;
  readonly worker: string;
  /** Packages whose native addon the bundles load (`lmdb`, `cbor-extract`, …). */
  readonly natives: readonly string[];
}

/** Writes `agent.cjs` and `worker.cjs` into `outDir`. */
export async function bundleAgent(outDir: string): Promise<Bundles> {
  const natives = new Set<string>();
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  const common: BuildOptions = {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    absWorkingDir: ROOT,
    plugins: [seaPlugin(natives, version)],
    // Required only under Bun, behind `process.isBun && false`.
    external: ['bun:ffi'],
    define: { 'import.meta.url': '__seaImportMetaUrl' },
    banner: { js: "var __seaImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    legalComments: 'none',
    logLevel: 'warning',
  };
  const agent = join(outDir, 'agent.cjs');
  const worker = join(outDir, 'worker.cjs');
  await build({ ...common, entryPoints: [join(ROOT, 'appliance', 'cli.ts')], outfile: agent });
  await build({
    ...common,
    entryPoints: [join(ROOT, 'appliance', 'pipeline', 'pool', 'worker.ts')],
    outfile: worker,
  });
  return { agent, worker, natives: [...natives].sort() };
}
