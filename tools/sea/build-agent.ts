/**
 * `npm run build:agent-binary [-- --arch x64|arm64] [--out DIR] [--no-strip]`: the appliance agent as
 * one executable, `dist/bin/cyberalarm-agent-linux-<arch>`, with Node's single-executable
 * applications (SEA), offline apart from the npm registry:
 * 1. `bundle.ts`: the agent and its parse worker as two CommonJS bundles (esbuild);
 * 2. native addons (lmdb, cbor-extract, msgpackr-extract) for the target: this machine's from
 *    node_modules, another architecture's prebuild packages fetched with `npm pack` at the version and
 *    integrity package-lock.json records;
 * 3. the blob (`node --experimental-sea-config`): main = the agent bundle, assets = the worker bundle
 *    and the addons, `execArgv` = the agent's V8 flags (`appliance/node-flags.ts`), no
 *    "experimental" warning; a code cache only when building for this machine's architecture;
 * 4. the Node runtime of the same version as the one building (the `node` devDependency; another
 *    architecture's from `node-linux-<arch>`, integrity pinned in `node-runtimes.json`), its symbols
 *    stripped (~18 MB), the blob injected with postject.
 * Building for another architecture never runs its binary.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AGENT_NODE_FLAGS } from '../../appliance/node-flags.js';
import { bundleAgent, ROOT } from './bundle.js';

type Arch = 'x64' | 'arm64';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Packages fetched for other architectures, unpacked (kept between builds). */
export const CACHE = join(ROOT, 'node_modules', '.cache', 'cyberalarm-sea');

function run(command: string, args: readonly string[], options: { cwd?: string } = {}): string {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

function sri(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * `name@version` unpacked under the cache (npm pack, integrity checked before unpacking); its
 * directory. A package already unpacked is reused.
 */
function fetchPackage(name: string, version: string, integrity: string): string {
  const dir = join(CACHE, `${name.replace('/', '+')}@${version}`);
  if (existsSync(join(dir, 'package.json'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const packed = JSON.parse(
    run('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', CACHE], { cwd: CACHE }),
  ) as { filename: string }[];
  const tarball = join(CACHE, packed[0]!.filename);
  const got = sri(tarball);
  if (got !== integrity) throw new Error(`${name}@${version}: integrity ${got}, expected ${integrity}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1']);
  rmSync(tarball);
  return dir;
}

interface LockEntry {
  version: string;
  integrity: string;
}
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry | undefined>;
};

/** The directory of a locked package for the target: node_modules here, else fetched. */
function lockedPackage(name: string, local: boolean): string {
  if (local) {
    const dir = join(ROOT, 'node_modules', name);
    if (existsSync(dir)) return dir;
  }
  const entry = lock.packages[`node_modules/${name}`];
  if (entry === undefined) throw new Error(`${name} is not in package-lock.json`);
  return fetchPackage(name, entry.version, entry.integrity);
}

/** The addon file node-gyp-build would pick on the target: this Node's ABI, else N-API; glibc. */
function addonFile(dir: string, abi: string): string {
  for (const candidate of [`node.abi${abi}.glibc.node`, 'node.napi.glibc.node']) {
    if (existsSync(join(dir, candidate))) return join(dir, candidate);
  }
  throw new Error(`no glibc prebuild for Node ABI ${abi} in ${dir}`);
}

function nodeRuntime(arch: Arch, local: boolean): string {
  const version = process.versions.node;
  if (local) return process.execPath;
  const name = `node-linux-${arch}`;
  const pins = JSON.parse(readFileSync(join(ROOT, 'tools', 'sea', 'node-runtimes.json'), 'utf8')) as Record<
    string,
    string
  >;
  const integrity = pins[`${name}@${version}`];
  if (integrity === undefined) {
    throw new Error(`no pinned integrity for ${name}@${version} in tools/sea/node-runtimes.json`);
  }
  return join(fetchPackage(name, version, integrity), 'bin', 'node');
}

function strip(file: string, arch: Arch): boolean {
  for (const tool of ['llvm-strip', ...(arch === process.arch ? ['strip'] : [])]) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0) {
      run(tool, ['--strip-all', file]);
      return true;
    }
  }
  return false;
}

export interface BuildOptions {
  /** Where the binary goes (`dist/bin`). */
  readonly outDir?: string;
  /** Bundles, addons and the blob (`dist/sea/<arch>`); emptied first. */
  readonly workDir?: string;
  /** Strip the runtime's symbols (default: yes, when llvm-strip or this architecture's strip is there). */
  readonly strip?: boolean;
  readonly quiet?: boolean;
}

/** Builds `cyberalarm-agent-linux-<arch>` and returns its path. */
export async function buildAgentBinary(arch: Arch, options: BuildOptions = {}): Promise<string> {
  const outDir = options.outDir ?? join(ROOT, 'dist', 'bin');
  const started = performance.now();
  const local = arch === process.arch && process.platform === 'linux';
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  if (process.versions.node !== pkg.devDependencies['node']) {
    throw new Error(
      `build with the node devDependency (${pkg.devDependencies['node']}), not ${process.version}: ` +
        'export PATH=$PWD/node_modules/.bin:$PATH',
    );
  }
  const work = options.workDir ?? join(ROOT, 'dist', 'sea', arch);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'native'), { recursive: true });

  const bundles = await bundleAgent(work);
  const assets: Record<string, string> = { 'worker.cjs': bundles.worker };
  for (const name of bundles.natives) {
    const prebuild = lockedPackage(`@${name}/${name}-linux-${arch}`, local);
    const file = join(work, 'native', `${name}.node`);
    copyFileSync(addonFile(prebuild, process.versions.modules), file);
    assets[`native/${name}.node`] = file;
  }

  const blob = join(work, 'sea-prep.blob');
  const config = {
    main: bundles.agent,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    // V8's code cache is specific to the machine that makes it: only for this architecture.
    useCodeCache: local,
    execArgv: [...AGENT_NODE_FLAGS],
    assets,
  };
  const configFile = join(work, 'sea-config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  // Made under the flags the binary runs with: V8 rejects a code cache made under other flags.
  run(process.execPath, [...AGENT_NODE_FLAGS, '--experimental-sea-config', configFile], { cwd: work });

  mkdirSync(outDir, { recursive: true });
  const output = join(outDir, `cyberalarm-agent-linux-${arch}`);
  rmSync(output, { force: true });
  copyFileSync(nodeRuntime(arch, local), output);
  chmodSync(output, 0o755);
  const stripped = options.strip !== false && strip(output, arch);
  run(process.execPath, [
    join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js'),
    output,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    SEA_FUSE,
  ]);
  chmodSync(output, 0o755);
  const digest = createHash('sha256').update(readFileSync(output)).digest('hex');
  writeFileSync(`${output}.sha256`, `${digest}  cyberalarm-agent-linux-${arch}\n`);
  if (local) {
    const version = run(output, ['--version']).trim();
    const expected = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    if (version !== expected) throw new Error(`${output} --version printed ${version}, expected ${expected}`);
  }
  const mb = (statSync(output).size / 1e6).toFixed(1);
  if (options.quiet !== true)
    console.log(
      `${output}: ${mb} MB${stripped ? ', stripped' : ''}, addons ${bundles.natives.join(', ')}, ` +
        `sha256 ${digest}, ${((performance.now() - started) / 1000).toFixed(1)} s${local ? '' : ' (not run: another architecture)'}`,
    );
  return output;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: process.arch },
      out: { type: 'string', default: join(ROOT, 'dist', 'bin') },
      'no-strip': { type: 'boolean', default: false },
    },
  });
  if (values.arch !== 'x64' && values.arch !== 'arm64') {
    console.error(`--arch x64 or arm64, not ${values.arch}`);
    process.exit(2);
  }
  await buildAgentBinary(values.arch, { outDir: values.out, strip: !values['no-strip'] });
}
