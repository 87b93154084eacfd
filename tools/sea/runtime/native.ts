/**
 * Native addons inside the single executable (bundled in place of `node-gyp-build-optional-packages`
 * by `tools/sea/plugins.ts`; never part of the normal build). Each addon is a SEA asset
 * `native/<name>.node`: the main thread writes the ones it loads to a private directory made for this
 * process (`mkdtemp`, mode 0700, under `$TMPDIR`), `process.dlopen`s them from there and removes the
 * directory when the process exits. Worker threads load the same files (the directory reaches them in
 * `CYBERALARM_SEA_NATIVE_DIR`). Outside a SEA (the bundle run by plain `node`, for debugging) the
 * addons are read from `native/` beside the bundle.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sea from 'node:sea';
import { isMainThread, threadId } from 'node:worker_threads';

const DIR_ENV = 'CYBERALARM_SEA_NATIVE_DIR';

let directory: string | undefined;
const loaded = new Map<string, unknown>();

function nativeDirectory(): string {
  if (directory !== undefined) return directory;
  const inherited = process.env[DIR_ENV];
  if (!isMainThread && inherited !== undefined && inherited !== '') {
    directory = inherited;
    return directory;
  }
  const made = mkdtempSync(join(tmpdir(), 'cyberalarm-agent-native-'));
  directory = made;
  process.env[DIR_ENV] = made;
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  return made;
}

function assetPath(name: string): string {
  const file = join(nativeDirectory(), `${name}.node`);
  if (!existsSync(file)) {
    // Written whole under a per-thread name, then renamed: a thread never dlopens a partial file.
    const partial = `${file}.${process.pid}.${threadId}.partial`;
    writeFileSync(partial, new Uint8Array(sea.getRawAsset(`native/${name}.node`) as ArrayBuffer), {
      mode: 0o500,
    });
    renameSync(partial, file);
  }
  return file;
}

/** The exports of native addon `name` (`lmdb`, `cbor-extract`, …), as node-gyp-build would return them. */
export function loadNative(name: string): unknown {
  const done = loaded.get(name);
  if (done !== undefined) return done;
  const path = sea.isSea() ? assetPath(name) : join(__dirname, 'native', `${name}.node`);
  const module = { exports: {} as unknown };
  process.dlopen(module, path);
  loaded.set(name, module.exports);
  return module.exports;
}
