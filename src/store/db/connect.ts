import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type Driver, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../../config/schema.js';
import { migrate } from './migrations.js';
import type { Database, Db } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Db;
  dialect: Dialect;
  /** For PostgreSQL: a pool other parts (LISTEN/NOTIFY) may borrow from. */
  pgPool: pg.Pool | null;
  /** For SQLite: the connection, whose `data_version` reveals writes by other processes (the CLI). */
  sqlite: BetterSqlite3.Database | null;
  close(): Promise<void>;
}

// int8 (counts, sizes, revisions) as JavaScript numbers rather than strings, like SQLite gives them.
pg.types.setTypeParser(20, (value: string) => Number(value));

/** Compiled statements kept per SQL text; the server runs the same few hundred over and over. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * better-sqlite3 compiles the SQL on every prepare(), which Kysely calls for every query. Its
 * statements are reusable (they run synchronously, and nothing here streams rows), so each SQL
 * text is compiled once, least recently used ones dropped beyond the cache size.
 */
function withStatementCache(sqlite: BetterSqlite3.Database): { prepare(sql: string): BetterSqlite3.Statement; close(): void } {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (statement) {
        statements.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}

/**
 * Kysely begins SQLite transactions with a deferred BEGIN, which takes the write lock only at the
 * first write. In WAL mode, when another process (a second worker, the CLI) committed after such a
 * transaction's first read, that write fails at once with SQLITE_BUSY_SNAPSHOT: busy_timeout
 * cannot help, since waiting would not make the stale snapshot current. BEGIN IMMEDIATE takes the
 * write lock first, waiting up to busy_timeout for it, so writers from several processes queue.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    return {
      init: () => driver.init(),
      acquireConnection: () => driver.acquireConnection(),
      beginTransaction: async (connection: DatabaseConnection) => {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      },
      commitTransaction: (connection) => driver.commitTransaction(connection),
      rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
      savepoint: (connection, name, compile) => driver.savepoint!(connection, name, compile),
      rollbackToSavepoint: (connection, name, compile) => driver.rollbackToSavepoint!(connection, name, compile),
      releaseSavepoint: (connection, name, compile) => driver.releaseSavepoint!(connection, name, compile),
      releaseConnection: (connection) => driver.releaseConnection(connection),
      destroy: () => driver.destroy(),
    };
  }
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(config: Config['database']): Promise<DatabaseHandle> {
  if (config.dialect === 'sqlite') {
    mkdirSync(path.dirname(config.path), { recursive: true });
    const sqlite = new BetterSqlite3(config.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
    await migrate(db as Kysely<unknown>, 'sqlite');
    return { db, dialect: 'sqlite', pgPool: null, sqlite, close: () => db.destroy() };
  }
  const pool = new pg.Pool({ connectionString: config.url, max: config.poolSize });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on the next checkout.
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db as Kysely<unknown>, 'postgres');
  return { db, dialect: 'postgres', pgPool: pool, sqlite: null, close: () => db.destroy() };
}

/** True when the error is a unique-constraint violation in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
