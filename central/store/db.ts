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
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import pg from 'pg';

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

async function openPglite(dir: string): Promise<Database> {
  mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir, { parsers: { [INT8_OID]: parseInt8 } });
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
    close: () => pglite.close(),
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
