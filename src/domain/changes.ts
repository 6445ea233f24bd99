import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Tells every node that cached state changed. Local listeners run at once; on PostgreSQL the
 * change also goes out through NOTIFY so the other nodes drop their copies. Caches keep a short
 * maximum age as well, so a lost notification only delays, never prevents, the update.
 */
export const CHANGE_TOPICS = ['repo', 'token', 'user', 'member', 'package', 'policy', 'mfa', 'session', 'repo-key'] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];
export type ChangeListener = (topic: ChangeTopic, key: string) => void;

export interface ChangeBus {
  publish(topic: ChangeTopic, key: string): void;
  subscribe(listener: ChangeListener): () => void;
  /**
   * Cheap check, called per request, for writes made by another process on the same SQLite file
   * (e.g. `stockade token revoke` while the server runs); drops every cache when one happened.
   */
  poll(): void;
  close(): Promise<void>;
}

const CHANNEL = 'stockade_changes';

export async function createChangeBus(options: {
  pgPool: pg.Pool | null;
  sqlite?: BetterSqlite3.Database | null;
  onError?: (error: Error) => void;
}): Promise<ChangeBus> {
  const listeners = new Set<ChangeListener>();
  const emit = (topic: ChangeTopic, key: string) => {
    for (const listener of listeners) listener(topic, key);
  };
  const emitAll = () => {
    // After a lost connection we cannot know what changed: drop everything.
    for (const topic of CHANGE_TOPICS) emit(topic, '*');
  };

  let client: pg.PoolClient | null = null;
  let closed = false;
  const pool = options.pgPool;

  async function listen(): Promise<void> {
    if (!pool || closed) return;
    try {
      const c = await pool.connect();
      client = c;
      c.on('notification', (message) => {
        if (!message.payload) return;
        const separator = message.payload.indexOf(':');
        emit(message.payload.slice(0, separator) as ChangeTopic, message.payload.slice(separator + 1));
      });
      c.on('error', (error) => {
        // After close() the client is back in the pool, which handles its errors itself.
        if (client !== c) return;
        options.onError?.(error);
        client = null;
        c.release(error);
        emitAll();
        if (!closed) setTimeout(() => void listen(), 1000).unref();
      });
      await c.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      options.onError?.(error as Error);
      if (!closed) setTimeout(() => void listen(), 1000).unref();
    }
  }
  await listen();

  // SQLite bumps data_version on a connection when another connection commits a write.
  // A prepared statement: `db.pragma()` would compile the statement again on every request.
  const dataVersionQuery = options.sqlite ? options.sqlite.prepare('PRAGMA data_version').pluck() : null;
  let dataVersion = dataVersionQuery ? (dataVersionQuery.get() as number) : 0;
  let lastPoll = 0;
  const writes = dataVersionQuery && options.sqlite ? watchWrites(options.sqlite.name) : null;

  return {
    publish(topic, key) {
      emit(topic, key);
      if (pool) {
        pool.query('select pg_notify($1, $2)', [CHANNEL, `${topic}:${key}`]).catch((error: Error) => options.onError?.(error));
      }
    },
    poll() {
      if (!dataVersionQuery) return;
      if (writes) {
        // Nothing wrote the database's files since the last check: nothing to ask SQLite.
        if (!writes.take()) return;
      } else {
        // Without a watch, once per millisecond bounds the pragma's cost under load while another
        // process's write is still seen by the next request after it.
        const now = Date.now();
        if (now === lastPoll) return;
        lastPoll = now;
      }
      const current = dataVersionQuery.get() as number;
      if (current !== dataVersion) {
        dataVersion = current;
        emitAll();
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      writes?.close();
      if (client) {
        const c = client;
        client = null;
        await c.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
        c.release();
      }
    },
  };
}

/**
 * Watches the folder of an SQLite database for writes to its files (the database, its WAL and
 * journal). The kernel queues the event while the writing process commits, so it reaches this
 * process before any request that process's user sends afterwards: `take()` says so by then. Our
 * own writes count too, which only costs one pragma. Returns null where the folder cannot be
 * watched (an in-memory database, a file system without change events); the bus then polls at
 * most once per millisecond.
 */
function watchWrites(file: string): { take(): boolean; close(): void } | null {
  if (file === '' || file === ':memory:' || file.startsWith('file:')) return null;
  const base = basename(file);
  let seen = true;
  let broken = false;
  try {
    const watcher = watch(dirname(resolve(file)), { persistent: false }, (_event, name) => {
      if (name === null || name.startsWith(base)) seen = true;
    });
    watcher.on('error', () => {
      // A watch that stopped reporting cannot be trusted: every poll asks SQLite from now on.
      broken = true;
      watcher.close();
    });
    return {
      /** Whether something may have written since the last call. */
      take() {
        const was = seen || broken;
        seen = false;
        return was;
      },
      close: () => watcher.close(),
    };
  } catch {
    return null;
  }
}

/** A small TTL map used for per-node caches of rows that the bus invalidates. */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(options: { ttlMs: number; max: number }) {
    this.#ttlMs = options.ttlMs;
    this.#max = options.max;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires < Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    if (this.#entries.size >= this.#max) {
      // Evict the oldest insertion; Map iterates in insertion order.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expires: Date.now() + this.#ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  deleteWhere(predicate: (key: string, value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (predicate(key, entry.value)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
