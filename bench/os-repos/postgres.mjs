import { spawnSync } from 'node:child_process';
import pg from 'pg';

/**
 * Fresh PostgreSQL databases for `--db postgres`: one per Stockade start, on 127.0.0.1:5432 with
 * trust auth (user from PGUSER, default postgres), dropped after. A database still there when the
 * process exits (an error, Ctrl-C) is dropped then with psql, synchronously.
 */

const HOST = '127.0.0.1';
const PORT = 5432;
const user = () => process.env.PGUSER || 'postgres';
const live = new Set();
let serial = 0;

async function admin(sql) {
  const client = new pg.Client({ host: HOST, port: PORT, user: user(), database: 'postgres' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

process.on('exit', () => {
  for (const name of live) {
    spawnSync('psql', ['-h', HOST, '-p', String(PORT), '-U', user(), '-d', 'postgres', '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'ignore', timeout: 10_000 });
  }
});

/** Creates `bench_os_<pid>_<n>` and returns its connection URL and a drop function. */
export async function createDatabase() {
  const name = `bench_os_${process.pid}_${++serial}`;
  try {
    await admin(`CREATE DATABASE ${name}`);
  } catch (error) {
    throw new Error(`--db postgres: cannot create a database on ${HOST}:${PORT} as ${user()} (trust auth expected): ${error.message}`);
  }
  live.add(name);
  return {
    url: `postgres://${user()}@${HOST}:${PORT}/${name}`,
    async drop() {
      // FORCE (PostgreSQL 13+) ends connections a stopped server may have left behind.
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      live.delete(name);
    },
  };
}
