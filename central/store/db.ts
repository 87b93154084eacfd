/**
 * One small database interface over the two engines central runs on: embedded PGlite (one box, the
 * default) and PostgreSQL through a `pg` pool (scaled out). Stages take a `Database` and never know
 * which engine is behind it.
 *
 * Result values are the same on both engines:
 * - int8 (`count(*)`, `sum(int)`, bigint columns) → JS number, through a type parser installed on
 *   both (node-postgres returns strings by default; PGlite already returns numbers). Counts stay far
 *   below 2^53, so nothing is lost.
 * - numeric (e.g. `sum(bigint)`) stays a string on both engines, so queries cast such aggregates
 *   with `::int8` in SQL.
 * - timestamptz → Date on both; bytea → Uint8Array (a Buffer on node-postgres, which is one).
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import { UserFacingError } from '../../common/errors.js';

/** What a transaction body (and the database itself) can run. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one or more statements without parameters (simple protocol). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<R>(fn: (tx: Queryable) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

const INT8_OID = 20;
const parseInt8 = (value: string): number => Number(value);

/**
 * Opens PostgreSQL for a `postgres://` or `postgresql://` URL, else (url undefined) the PGlite
 * database in `<dataDir>/pglite`. Any other URL is a configuration error.
 */
export async function openDatabase(url: string | undefined, dataDir: string): Promise<Database> {
  if (url === undefined) return openPglite(join(dataDir, 'pglite'));
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url);
  throw new Error(
    `database URL ${JSON.stringify(redactPassword(url))}: expected postgres://… or postgresql://… (or none for the embedded PGlite database)`,
  );
}

/** Error messages name the URL but never its password. */
function redactPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** The embedded database directory is held by another live process. */
export class DatabaseInUseError extends UserFacingError {
  override readonly name = 'DatabaseInUseError';
}

/** Lock files this process holds: a lock naming our own pid that is not here is a previous life's
 * (a container restarts central as the same pid), so it is stale, not ours. */
const heldLocks = new Set<string>();

function lockHolder(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, file: string): boolean {
  if (pid === process.pid) return heldLocks.has(file);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another account's
  }
}

/**
 * PGlite is one process per directory, and two processes on one directory corrupt it for good (the
 * next open dies in `RuntimeError: Aborted()`), so the directory is locked before PGlite opens it:
 * `<dir>.lock` holds the owner's pid, created atomically with its content (written aside, then
 * hard-linked into place: a reader never sees an empty lock). A lock whose pid is gone (central was
 * killed) is stale and taken over; the takeover renames it first, so of two processes finding the
 * same stale lock only one removes it (and puts back a live lock it moved by mistake). Returns the release function.
 */
function lockDirectory(dir: string): () => void {
  const file = `${dir}.lock`;
  const mine = `${file}.${process.pid}.tmp`;
  writeFileSync(mine, `${process.pid}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(mine, file);
        heldLocks.add(file);
        return () => {
          heldLocks.delete(file);
          rmSync(file, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = lockHolder(file);
      if (holder !== undefined && isAlive(holder, file)) {
        throw new DatabaseInUseError(
          `the embedded database ${dir} is in use by process ${holder} (another cyberalarm-central?): ` +
            `stop that process first, or delete ${file} if it is not central`,
        );
      }
      const aside = `${file}.${process.pid}.stale`;
      try {
        renameSync(file, aside);
        // Between our read and the rename another process may have taken the stale lock over: then
        // what we moved aside is its live lock, which goes back.
        if (lockHolder(aside) !== holder) linkSync(aside, file);
      } catch {
        // Another process took the stale lock over first: the next attempt sees its lock.
      } finally {
        rmSync(aside, { force: true });
      }
    }
    throw new DatabaseInUseError(`could not lock the embedded database ${dir}: delete ${file} and retry`);
  } finally {
    rmSync(mine, { force: true });
  }
}

async function openPglite(dir: string): Promise<Database> {
  mkdirSync(dir, { recursive: true });
  const unlock = lockDirectory(dir);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dir, { parsers: { [INT8_OID]: parseInt8 } });
  } catch (err) {
    unlock();
    throw err;
  }
  const wrap = (q: PGlite | Transaction): Queryable => ({
    query: async <T>(sql: string, params?: readonly unknown[]) =>
      (await q.query<T>(sql, params ? [...params] : undefined)).rows,
    exec: async (sql: string) => {
      await q.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    ...wrap(pglite),
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    close: async () => {
      try {
        await pglite.close();
      } finally {
        unlock();
      }
    },
  };
}

function openPostgres(url: string): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? parseInt8
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its connection (server restart, network) emits 'error' on the pool, which
  // would crash the process without a listener. The pool drops that client; the next query opens a
  // new connection or fails and propagates to its caller, which is where the error belongs.
  pool.on('error', () => {});
  const wrap = (q: pg.Pool | pg.PoolClient): Queryable => ({
    query: async <T>(sql: string, params?: readonly unknown[]) =>
      (await q.query(sql, params ? [...params] : undefined)).rows as T[],
    exec: async (sql: string) => {
      await q.query(sql);
    },
  });
  return {
    kind: 'postgres',
    ...wrap(pool),
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is unusable: release(err) destroys it instead of returning it to the pool.
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
