import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ConfigError, configLeaves, loadConfig, parseConfig } from '../../src/config/load.js';

const docsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs');
const configDoc = path.join(docsDir, 'configuration.md');

function valueAt(root: unknown, at: string[]): unknown {
  let node = root;
  for (const key of at) node = (node as Record<string, unknown> | undefined)?.[key];
  return node;
}

/** Table rows of docs/configuration.md: | `key` | type | default | `ENV` | meaning | */
async function documentedKeys(): Promise<Map<string, { defaultCell: string; env: string }>> {
  const rows = new Map<string, { defaultCell: string; env: string }>();
  for (const line of (await readFile(configDoc, 'utf8')).split('\n')) {
    const match = /^\| `([A-Za-z.]+)` \| [^|]+ \| ([^|]+) \| `(STOCKADE_[A-Z_]+)` \| .+ \|$/.exec(line);
    if (match) rows.set(match[1] as string, { defaultCell: (match[2] as string).trim(), env: match[3] as string });
  }
  return rows;
}

describe('example configurations', () => {
  test('every docs/examples/*.yaml validates', async () => {
    const files = (await readdir(path.join(docsDir, 'examples'))).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 2, `expected at least two examples, found ${files.join(', ')}`);
    for (const file of files) {
      assert.doesNotThrow(() => loadConfig({ file: path.join(docsDir, 'examples', file), env: {} }), `docs/examples/${file}`);
    }
  });

  test('the examples cover the embedded default and PostgreSQL behind a proxy', () => {
    const embedded = loadConfig({ file: path.join(docsDir, 'examples', 'embedded.yaml'), env: {} });
    assert.equal(embedded.database.dialect, 'sqlite');
    const proxied = loadConfig({ file: path.join(docsDir, 'examples', 'postgres-behind-proxy.yaml'), env: {} });
    assert.equal(proxied.database.dialect, 'postgres');
    assert.equal(proxied.server.trustProxy, true);
    assert.match(proxied.server.publicUrl ?? '', /^https:\/\//);
  });

  test('every YAML block in docs/configuration.md validates', async () => {
    const text = await readFile(configDoc, 'utf8');
    const blocks = [...text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
    assert.ok(blocks.length >= 2, 'docs/configuration.md has YAML examples');
    for (const [i, block] of blocks.entries()) {
      assert.doesNotThrow(() => parseConfig(parseYaml(block), `YAML block ${i + 1}`), `YAML block ${i + 1}:\n${block}`);
    }
  });

  test('the all-defaults block in docs/configuration.md is exactly the defaults', async () => {
    const text = await readFile(configDoc, 'utf8');
    const first = /^```yaml\n([\s\S]*?)^```$/m.exec(text)?.[1] ?? '';
    assert.deepEqual(parseYaml(first), parseConfig({}));
  });
});

describe('docs/configuration.md documents the schema', () => {
  test('every schema key is documented with its environment variable', async () => {
    const documented = await documentedKeys();
    const missing = configLeaves()
      .map((leaf) => ({ key: leaf.path.join('.'), env: leaf.env }))
      .filter(({ key, env }) => documented.get(key)?.env !== env);
    assert.deepEqual(missing, [], 'add these keys to the tables in docs/configuration.md');
  });

  test('no documented key is missing from the schema', async () => {
    const leaves = new Set(configLeaves().map((leaf) => leaf.path.join('.')));
    assert.deepEqual(
      [...(await documentedKeys()).keys()].filter((key) => !leaves.has(key)),
      [],
    );
  });

  test('every documented default is the real default', async () => {
    const defaults = { sqlite: parseConfig({}), postgres: parseConfig({ database: { dialect: 'postgres', url: 'postgres://db/x' } }) };
    for (const [key, { defaultCell }] of await documentedKeys()) {
      const at = key.split('.');
      const actual = valueAt(defaults.sqlite, at) ?? valueAt(defaults.postgres, at);
      if (defaultCell === 'required') {
        assert.equal(key, 'database.url', `${key} is documented as required`);
        continue;
      }
      const literal = /^`([^`]*)`/.exec(defaultCell)?.[1];
      assert.ok(literal !== undefined, `${key}: default cell "${defaultCell}" should start with a \`value\``);
      assert.deepEqual(parseYaml(literal), actual, `${key}: documented default ${literal}`);
    }
  });
});

describe('loadConfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stockade-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configFile(name: string, yaml: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, yaml);
    return file;
  }

  const unknownKeys: [string, unknown, string][] = [
    ['top level', { servr: { port: 1 } }, 'unknown key "servr"'],
    ['nested', { server: { prot: 8080 } }, 'unknown key "server.prot"'],
    ['in the database of a dialect', { database: { dialect: 'sqlite', url: 'postgres://x/y' } }, 'unknown key "database.url"'],
    ['deep in log', { log: { level: 'info', format: 'json' } }, 'unknown key "log.format"'],
  ];
  for (const [label, raw, message] of unknownKeys) {
    test(`an unknown key is rejected by name: ${label}`, () => {
      assert.throws(
        () => parseConfig(raw),
        (error: Error) => error instanceof ConfigError && error.message.includes(message),
      );
    });
  }

  test('an unknown key in a file is rejected by name, with the file', async () => {
    const file = await configFile('unknown.yaml', 'server:\n  port: 8080\n  bodylimit: 10\n');
    assert.throws(
      () => loadConfig({ file, env: {} }),
      (error: Error) => error instanceof ConfigError && error.message.includes('unknown key "server.bodylimit"') && error.message.includes(file),
    );
  });

  const invalid: [string, unknown, string][] = [
    ['port not a number', { server: { port: 'http' } }, '"server.port"'],
    ['port out of range', { server: { port: 70000 } }, '"server.port"'],
    ['public URL not a URL', { server: { publicUrl: 'packages.example.com' } }, '"server.publicUrl"'],
    ['unknown log level', { log: { level: 'loud' } }, '"log.level"'],
    ['unknown dialect', { database: { dialect: 'mysql' } }, '"database.dialect"'],
    ['postgres without url', { database: { dialect: 'postgres' } }, '"database.url"'],
    ['short minimum password', { auth: { passwordMinLength: 4 } }, '"auth.passwordMinLength"'],
    ['negative token lifetime', { auth: { maxTokenLifetimeDays: -1 } }, '"auth.maxTokenLifetimeDays"'],
  ];
  for (const [label, raw, key] of invalid) {
    test(`an invalid value names its key: ${label}`, () => {
      assert.throws(
        () => parseConfig(raw),
        (error: Error) => error instanceof ConfigError && error.message.includes(key),
      );
    });
  }

  test('environment variables override defaults', () => {
    const config = loadConfig({ cwd: dir, env: { STOCKADE_SERVER_PORT: '9000', STOCKADE_SERVER_TRUST_PROXY: 'true', STOCKADE_LOG_LEVEL: 'debug' } });
    assert.equal(config.server.port, 9000);
    assert.equal(config.server.trustProxy, true);
    assert.equal(config.log.level, 'debug');
  });

  test('environment variables override the file; empty ones are ignored', async () => {
    const file = await configFile('override.yaml', 'server:\n  port: 7000\n  host: 0.0.0.0\n  publicUrl: https://packages.example.com\n');
    const config = loadConfig({ file, env: { STOCKADE_SERVER_PORT: '9000', STOCKADE_SERVER_HOST: '', STOCKADE_SERVER_PUBLIC_URL: 'null' } });
    assert.equal(config.server.port, 9000);
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.publicUrl, null);
  });

  test('an invalid environment value names the key', () => {
    assert.throws(
      () => loadConfig({ cwd: dir, env: { STOCKADE_SERVER_PORT: 'ninety' } }),
      (error: Error) => error instanceof ConfigError && error.message.includes('"server.port"'),
    );
  });

  test('PostgreSQL can be chosen from the environment alone', () => {
    const config = loadConfig({ cwd: dir, env: { STOCKADE_DATABASE_DIALECT: 'postgres', STOCKADE_DATABASE_URL: 'postgres://stockade@db/stockade' } });
    assert.deepEqual(config.database, { dialect: 'postgres', url: 'postgres://stockade@db/stockade', poolSize: 10 });
  });

  test('the file comes from STOCKADE_CONFIG, else ./stockade.yaml', async () => {
    const cwd = await mkdtemp(path.join(dir, 'cwd-'));
    assert.equal(loadConfig({ cwd, env: {} }).server.port, 8080, 'no file: defaults');
    await writeFile(path.join(cwd, 'stockade.yaml'), 'server:\n  port: 7001\n');
    assert.equal(loadConfig({ cwd, env: {} }).server.port, 7001);
    const named = await configFile('named.yaml', 'server:\n  port: 7002\n');
    assert.equal(loadConfig({ cwd, env: { STOCKADE_CONFIG: named } }).server.port, 7002);
    assert.equal(loadConfig({ cwd, file: named, env: { STOCKADE_CONFIG: path.join(cwd, 'stockade.yaml') } }).server.port, 7002, 'an explicit file wins');
  });

  test('a named file that cannot be read is an error', () => {
    assert.throws(() => loadConfig({ file: path.join(dir, 'absent.yaml'), env: {} }), /cannot read configuration file/);
  });

  test('dataDir is resolved against the working directory, data paths against dataDir', () => {
    const config = loadConfig({ cwd: dir, env: { STOCKADE_DATA_DIR: 'state', STOCKADE_BLOBS_ROOT: '/srv/blobs' } });
    assert.equal(config.dataDir, path.join(dir, 'state'));
    assert.deepEqual(config.database, { dialect: 'sqlite', path: path.join(dir, 'state', 'stockade.db') });
    assert.equal(config.blobs.root, '/srv/blobs');
  });
});
