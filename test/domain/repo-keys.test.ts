/**
 * Repository signing keys: created once, sealed at rest, signatures that gpgv (what apt uses)
 * accepts, and a rotation during which both keys sign.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import type { RepoInfo } from '../../src/domain/repos.js';
import { isStockadeError } from '../../src/errors.js';
import { openTestDomain } from './domain-setup.js';

describe('repository signing keys', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  let repo: RepoInfo;
  let dir: string;

  /**
   * gpgv with exactly the given public keys, judged as apt judges it: at least one good signature
   * by a known key and no bad one (a signature by a key it does not have is not an error).
   */
  async function gpgvAccepts(keyring: Buffer, files: { name: string; content: string }[]): Promise<boolean> {
    const keyringFile = path.join(dir, `keyring-${Math.random().toString(36).slice(2)}.gpg`);
    await writeFile(keyringFile, keyring);
    for (const file of files) await writeFile(path.join(dir, file.name), file.content);
    const result = spawnSync('gpgv', ['--homedir', dir, '--status-fd', '1', '--keyring', keyringFile, ...files.map((f) => path.join(dir, f.name))], { encoding: 'utf8' });
    return /^\[GNUPG:\] GOODSIG /m.test(result.stdout) && !/^\[GNUPG:\] BADSIG /m.test(result.stdout);
  }

  before(async () => {
    ({ domain, close } = await openTestDomain({ config: { signing: { rsaBits: 2048 } } }));
    const user = await domain.accounts.createUser(systemActor, { name: 'keeper', password: 'a long enough passphrase' });
    await domain.repos.create(systemActor, { owner: user.name, name: 'os', visibility: 'public' });
    const found = await domain.repos.get('keeper', 'os');
    assert.ok(found);
    repo = found;
    dir = await mkdtemp(path.join(tmpdir(), 'stockade-keys-'));
  });

  after(async () => {
    await close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates one key on first use, even when asked concurrently, and seals the private key', async () => {
    await Promise.all([domain.repoKeys.ensure(systemActor, repo), domain.repoKeys.ensure(systemActor, repo), domain.repoKeys.publicKeys(repo)]);
    const keys = await domain.repoKeys.list(repo);
    assert.equal(keys.length, 1);
    assert.match(keys[0]?.fingerprint ?? '', /^[0-9A-F]{40}$/);
    const row = await domain.db.selectFrom('repo_keys').selectAll().executeTakeFirstOrThrow();
    assert.doesNotMatch(row.private_sealed, /PRIVATE KEY/);
    assert.match(row.public_armored, /BEGIN PGP PUBLIC KEY BLOCK/);
    const audit = await domain.audit.query(domain.db, { action: 'repo.key.create' });
    assert.equal(audit.length, 1);
  });

  it('clearsigns (InRelease) and signs detached (Release.gpg) so that gpgv accepts them, and not tampered copies', async () => {
    const release = 'Origin: keeper/os\nSuite: bookworm\nCodename: bookworm\n';
    const { binary } = await domain.repoKeys.publicKeys(repo);
    const inRelease = await domain.repoKeys.clearsign(repo, release);
    assert.match(inRelease, /^-----BEGIN PGP SIGNED MESSAGE-----/);
    assert.equal(await gpgvAccepts(binary, [{ name: 'InRelease', content: inRelease }]), true);
    assert.equal(await gpgvAccepts(binary, [{ name: 'InRelease', content: inRelease.replace('bookworm', 'trixie') }]), false);

    const detached = await domain.repoKeys.detachedSign(repo, release);
    assert.equal(await gpgvAccepts(binary, [{ name: 'Release.gpg', content: detached }, { name: 'Release', content: release }]), true);
    assert.equal(await gpgvAccepts(binary, [{ name: 'Release.gpg', content: detached }, { name: 'Release', content: `${release}X` }]), false);
  });

  it('during a rotation both keys sign, so clients with either key verify; retiring ends it', async () => {
    const oldKeys = await domain.repoKeys.publicKeys(repo);
    await domain.repoKeys.rotate(systemActor, repo);
    const both = await domain.repoKeys.publicKeys(repo);
    assert.equal(both.fingerprints.length, 2);
    const signed = await domain.repoKeys.clearsign(repo, 'Suite: bookworm\n');
    assert.equal(await gpgvAccepts(oldKeys.binary, [{ name: 'InRelease', content: signed }]), true, 'old key alone');
    const newOnly = both.fingerprints.filter((f) => !oldKeys.fingerprints.includes(f));
    assert.equal(newOnly.length, 1);

    await domain.repoKeys.retire(systemActor, repo, oldKeys.fingerprints[0] as string);
    const after = await domain.repoKeys.publicKeys(repo);
    assert.deepEqual(after.fingerprints, newOnly);
    const signedAfter = await domain.repoKeys.clearsign(repo, 'Suite: bookworm\n');
    assert.equal(await gpgvAccepts(after.binary, [{ name: 'InRelease', content: signedAfter }]), true, 'new key');
    assert.equal(await gpgvAccepts(oldKeys.binary, [{ name: 'InRelease', content: signedAfter }]), false, 'retired key no longer signs');

    await assert.rejects(domain.repoKeys.retire(systemActor, repo, newOnly[0] as string), (error) => isStockadeError(error) && error.code === 'CONFLICT');
    await assert.rejects(domain.repoKeys.retire(systemActor, repo, 'ABCDEF'), (error) => isStockadeError(error) && error.code === 'NOT_FOUND');
    const actions = (await domain.audit.query(domain.db, { target: 'repo:keeper/os' })).map((e) => e.action);
    assert.ok(actions.includes('repo.key.rotate') && actions.includes('repo.key.retire'));
  });
});
