/**
 * `stockade serve` with `server.workers: 2`: two server processes share the port, uploads that
 * arrive at either land in the one database, both serve identical index files, and a worker that
 * dies is replaced. Every request goes over a new connection, which the cluster hands to the
 * workers in turn; the request log lines carry the pid of the worker that served them.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { buildDeb } from '../formats/debian/build-deb.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { repoRoot } from './helpers.js';

interface Answer {
  status: number;
  body: Buffer;
}

/** One request over its own connection (no keep-alive), so consecutive requests reach both workers. */
function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.end(options.body);
  });
}

interface RequestLine {
  pid: number;
  method: string;
  path: string;
  status: number;
}

/** Request log lines reach us through the server's stdout, a little after the answers: wait for them. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(check(), what);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stockade serve with two workers', () => {
  let database: TestDatabase;
  let child: ChildProcess;
  let url: string;
  let token: string;
  const requests: RequestLine[] = [];
  let stdout = '';

  const pidsOf = (method: string, pathPrefix: string, from = 0) =>
    new Set(requests.slice(from).filter((r) => r.method === method && r.path.startsWith(pathPrefix)).map((r) => r.pid));

  before(async () => {
    database = await createTestDatabase();
    const configFile = path.join(database.dataDir, 'stockade.yaml');
    const config = {
      dataDir: database.dataDir,
      database: database.config,
      server: { host: '127.0.0.1', port: 0, requestLogging: true, workers: 2 },
      log: { level: 'info' },
      signing: { rsaBits: 2048 },
    };
    await writeFile(configFile, JSON.stringify(config));
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('STOCKADE_')) env[key] = value;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--json', '--config', configFile], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 1);
        if (!line.startsWith('{"')) continue;
        const entry = JSON.parse(line) as { msg?: string; pid?: number; method?: string; path?: string; status?: number };
        if (entry.msg === 'request' && entry.pid) requests.push({ pid: entry.pid, method: entry.method ?? '', path: entry.path ?? '', status: entry.status ?? 0 });
      }
    });
    // The startup answer is pretty-printed JSON; the workers' log lines are one line each.
    const started = await new Promise<{ url: string; initialAdminPassword: string; workers: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready after 90 s:\n${stdout}`)), 90_000);
      const check = () => {
        const match = /^\{\n[\s\S]*?\n\}$/m.exec(stdout);
        if (!match) return;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(JSON.parse(match[0]) as { url: string; initialAdminPassword: string; workers: number });
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => reject(new Error(`stockade serve exited during startup (${code}):\n${stdout}`)));
    });
    assert.equal(started.workers, 2);
    url = started.url;
    const basic = `Basic ${Buffer.from(`admin:${started.initialAdminPassword}`).toString('base64')}`;
    const json = { authorization: basic, 'content-type': 'application/json' };
    const created = await request(`${url}/api/v1/tokens`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'test', scopes: ['read', 'write'] }) });
    assert.equal(created.status, 201, created.body.toString());
    token = (JSON.parse(created.body.toString()) as { token: string }).token;
    const repo = await request(`${url}/api/v1/repos`, { method: 'POST', headers: json, body: JSON.stringify({ owner: 'admin', name: 'os', visibility: 'public' }) });
    assert.equal(repo.status, 201, repo.body.toString());
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await database?.drop();
  });

  async function upload(name: string, version: string): Promise<void> {
    const built = await buildDeb({ name, version, arch: 'amd64' });
    try {
      const answer = await request(`${url}/api/v1/repos/admin/os/upload?filename=${name}_${version}_amd64.deb&distribution=bookworm`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: built.data,
      });
      assert.equal(answer.status, 201, answer.body.toString());
    } finally {
      await built.cleanup();
    }
  }

  /** Packages of main/amd64 as each of `times` requests got it; asserts they are byte-identical and returns one. */
  async function packagesIndex(times: number): Promise<string> {
    const release = new Set<string>();
    const packages = new Set<string>();
    for (let i = 0; i < times; i++) {
      const r = await request(`${url}/admin/os/debian/dists/bookworm/Release`);
      assert.equal(r.status, 200);
      release.add(r.body.toString('utf8'));
      const p = await request(`${url}/admin/os/debian/dists/bookworm/main/binary-amd64/Packages.gz`);
      assert.equal(p.status, 200);
      packages.add(gunzipSync(p.body).toString('utf8'));
    }
    assert.equal(release.size, 1, 'every worker serves the same Release');
    assert.equal(packages.size, 1, 'every worker serves the same Packages');
    return [...packages][0] as string;
  }

  it('spreads uploads over both workers into one repository, and both serve the same indexes', async () => {
    const before = requests.length;
    for (let i = 0; i < 6; i++) await upload(`spread-${i}`, `1.${i}`);
    await eventually(() => pidsOf('PUT', '/api/v1/repos/admin/os/upload', before).size === 2, 'uploads were served by both workers');
    const readsFrom = requests.length;
    const index = await packagesIndex(4);
    await eventually(() => pidsOf('GET', '/admin/os/debian/dists/bookworm/', readsFrom).size === 2, 'index files were served by both workers');
    for (let i = 0; i < 6; i++) assert.match(index, new RegExp(`^Package: spread-${i}\\nVersion: 1\\.${i}$`, 'm'));
  });

  it('replaces a worker that dies, and the new one serves what the others stored', async () => {
    const workers = pidsOf('GET', '/');
    const victim = [...workers][0] as number;
    process.kill(victim, 'SIGKILL');
    // Connections go to the survivor, then in turn to the replacement once it listens.
    const replacement = () => [...pidsOf('GET', '/healthz')].find((pid) => !workers.has(pid));
    for (let attempt = 0; attempt < 300 && replacement() === undefined; attempt++) {
      // A connection the primary handed to the killed worker just before it died is lost: retry.
      const answer = await request(`${url}/healthz`, { timeoutMs: 2000 }).catch(() => null);
      if (answer) assert.equal(answer.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(replacement(), 'a new worker took over');
    assert.equal(alive(victim), false);
    await upload('after-restart', '2.0');
    const index = await packagesIndex(4);
    assert.match(index, /^Package: after-restart$/m);
    assert.equal(index.match(/^Package: /gm)?.length, 7);
  });

  it('stops every worker on SIGTERM', async () => {
    const workers = [...new Set(requests.map((r) => r.pid))].filter(alive);
    assert.equal(workers.length, 2);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    assert.deepEqual(workers.filter(alive), []);
  });
});
