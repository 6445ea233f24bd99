import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import type { Database, Db, Tx } from './schema.js';

/** Values a prepared query takes: what the drivers bind as one parameter (never a list). */
export type ParamValue = string | number | bigint | boolean | null | Buffer;

export interface PreparedQuery<P extends Record<string, ParamValue>, R> {
  /** Runs the statement on the database or inside a transaction. */
  execute(executor: Db | Tx, params: P): Promise<QueryResult<R>>;
  /** Every row. */
  rows(executor: Db | Tx, params: P): Promise<R[]>;
  /** The first row, if any. */
  first(executor: Db | Tx, params: P): Promise<R | undefined>;
}

/**
 * Kysely builds an operation tree and compiles it to SQL on every call, which on the hot paths
 * (a remote file fetched, gated and stored takes some 25 statements) costs more CPU than SQLite
 * takes to run those small statements. A prepared query is built and compiled once, with a
 * marker in place of each named parameter; each call only puts the values where the markers
 * are. It is compiled by the first executor that runs it: one prepared query serves one database
 * (and its transactions), so it belongs to the object that holds that database.
 *
 * `build` must use every parameter as a plain value (where, values, set): a marker that ends up
 * elsewhere, or is missing from the compiled parameters, fails the first call.
 */
export function prepareQuery<P extends Record<string, ParamValue>, R>(names: readonly (keyof P & string)[], build: (db: Kysely<Database>, params: P) => Compilable<R>): PreparedQuery<P, R> {
  let template: { sql: string; slots: (((params: P) => unknown) | { value: unknown })[] } | null = null;

  function compile(db: Kysely<Database>) {
    const markers = new Map<string, string>();
    const params = {} as Record<string, string>;
    for (const name of names) {
      const marker = `\u0000stockade-param:${name}\u0000`;
      markers.set(marker, name);
      params[name] = marker;
    }
    const compiled = build(db, params as unknown as P).compile();
    const seen = new Set<string>();
    const slots = compiled.parameters.map((value) => {
      const name = typeof value === 'string' ? markers.get(value) : undefined;
      if (name === undefined) {
        if (typeof value === 'string' && value.includes('\u0000stockade-param:')) throw new Error(`prepared query: a parameter was altered by the query builder: ${compiled.sql}`);
        return { value };
      }
      seen.add(name);
      return (p: P) => p[name];
    });
    const unused = names.filter((name) => !seen.has(name));
    if (unused.length) throw new Error(`prepared query: parameters ${unused.join(', ')} are not bound in ${compiled.sql}`);
    return { sql: compiled.sql, slots };
  }

  function execute(executor: Db | Tx, params: P): Promise<QueryResult<R>> {
    template ??= compile(executor);
    const values = template.slots.map((slot) => (typeof slot === 'function' ? slot(params) : slot.value));
    return executor.executeQuery(CompiledQuery.raw(template.sql, values) as CompiledQuery<R>);
  }

  return {
    execute,
    rows: async (executor, params) => (await execute(executor, params)).rows,
    first: async (executor, params) => (await execute(executor, params)).rows[0],
  };
}
