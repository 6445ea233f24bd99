import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemActor } from '../../src/domain/audit.js';
import type { Domain } from '../../src/domain/index.js';
import { hashPassword, verifyPassword } from '../../src/domain/passwords.js';
import { generateTokenSecret, looksLikeToken } from '../../src/domain/tokens.js';
import type { RepoInfo } from '../../src/domain/repos.js';
import type { Principal } from '../../src/domain/access.js';
import { isStockadeError } from '../../src/errors.js';
import { openTestDomain } from './domain-setup.js';

const code = (expected: string) => (error: unknown) => isStockadeError(error) && error.code === expected;

describe('passwords', () => {
  it('hashes with scrypt parameters stored alongside and verifies', async () => {
    const hash = await hashPassword('correct-horse-battery');
    assert.match(hash, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('correct-horse-battery', hash), true);
    assert.equal(await verifyPassword('correct-horse-batterY', hash), false);
    assert.notEqual(await hashPassword('correct-horse-battery'), hash, 'salted');
  });
});

describe('token secrets', () => {
  it('carry a prefix and a checksum that detects a changed character', () => {
    const secret = generateTokenSecret();
    assert.match(secret, /^stk_[0-9A-Za-z]{32}[0-9a-z]{7}$/);
    assert.equal(looksLikeToken(secret), true);
    const flipped = secret.slice(0, 10) + (secret[10] === 'a' ? 'b' : 'a') + secret.slice(11);
    assert.equal(looksLikeToken(flipped), false);
  });
});

describe('accounts, tokens and access', () => {
  let domain: Domain;
  let close: () => Promise<void>;
  let pub: RepoInfo;
  let priv: RepoInfo;
  let other: RepoInfo;
  const ids: Record<string, number> = {};

  before(async () => {
    ({ domain, close } = await openTestDomain());
    for (const name of ['owner', 'writer', 'reader', 'stranger']) {
      ids[name] = (await domain.accounts.createUser(systemActor, { name, password: 'correct-horse-battery' })).id;
    }
    ids.root = (await domain.accounts.createUser(systemActor, { name: 'root', password: 'correct-horse-battery', isAdmin: true })).id;
    await domain.accounts.createOrg(systemActor, { name: 'acme', adminUserId: ids.owner! });
    await domain.accounts.setMember(systemActor, { owner: 'acme', user: 'writer', role: 'write' });
    await domain.accounts.setMember(systemActor, { owner: 'acme', user: 'reader', role: 'read' });
    pub = await domain.repos.create(systemActor, { owner: 'acme', name: 'public', visibility: 'public' });
    priv = await domain.repos.create(systemActor, { owner: 'acme', name: 'private', visibility: 'private' });
    other = await domain.repos.create(systemActor, { owner: 'stranger', name: 'own', visibility: 'private' });
  });
  after(() => close());

  it('rejects weak passwords and duplicate names', async () => {
    await assert.rejects(domain.accounts.createUser(systemActor, { name: 'weak', password: 'short' }), code('WEAK_PASSWORD'));
    await assert.rejects(domain.accounts.createUser(systemActor, { name: 'weak', password: 'password123' }), code('WEAK_PASSWORD'));
    await assert.rejects(domain.accounts.createUser(systemActor, { name: 'weak', password: 'weak-weak-weak-1' }), code('WEAK_PASSWORD'));
    await assert.rejects(domain.accounts.createUser(systemActor, { name: 'owner', password: 'correct-horse-battery' }), code('USER_EXISTS'));
    await assert.rejects(domain.accounts.createUser(systemActor, { name: 'acme', password: 'correct-horse-battery' }), code('USER_EXISTS'));
    await assert.rejects(domain.accounts.createUser(systemActor, { name: 'Bad Name', password: 'correct-horse-battery' }), code('VALIDATION_FAILED'));
  });

  it('authenticates with the right password only', async () => {
    assert.equal((await domain.accounts.authenticate('owner', 'correct-horse-battery')).name, 'owner');
    await assert.rejects(domain.accounts.authenticate('owner', 'wrong-password-here'), code('INVALID_CREDENTIALS'));
    await assert.rejects(domain.accounts.authenticate('nobody', 'correct-horse-battery'), code('INVALID_CREDENTIALS'));
  });

  it('verifies tokens, and stops accepting revoked and expired ones', async () => {
    const { secret, token } = await domain.tokens.create(systemActor, { userId: ids.writer!, name: 'ci', scopes: ['write'] });
    const grant = await domain.tokens.verify(secret);
    assert.equal(grant?.userName, 'writer');
    assert.deepEqual([...grant!.scopes].sort(), ['read', 'write']);
    await domain.tokens.revoke(systemActor, { userId: ids.writer!, isAdmin: false, id: token.id });
    assert.equal(await domain.tokens.verify(secret), null);

    const soon = new Date(Date.now() + 300).toISOString();
    const short = await domain.tokens.create(systemActor, { userId: ids.writer!, name: 'short', scopes: ['read'], expiresAt: soon });
    assert.ok(await domain.tokens.verify(short.secret));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await domain.tokens.verify(short.secret), null);
    await assert.rejects(
      domain.tokens.create(systemActor, { userId: ids.writer!, name: 'past', scopes: ['read'], expiresAt: '2001-01-01T00:00:00Z' }),
      code('VALIDATION_FAILED'),
    );
    await assert.rejects(domain.tokens.create(systemActor, { userId: ids.writer!, name: 'bad', scopes: ['root' as never] }), code('VALIDATION_FAILED'));
  });

  it('does not let one user revoke another user\'s token', async () => {
    const { token } = await domain.tokens.create(systemActor, { userId: ids.owner!, name: 'mine', scopes: ['read'] });
    await assert.rejects(domain.tokens.revoke(systemActor, { userId: ids.stranger!, isAdmin: false, id: token.id }), code('NOT_FOUND'));
  });

  it('decides access by role, visibility, scope and repo restriction', async () => {
    const as = (name: string, token?: { scopes: string[]; repoId?: number | null }): Principal => ({
      userId: ids[name]!,
      userName: name,
      isAdmin: name === 'root',
      token: token ? { tokenId: 1, scopes: new Set(token.scopes) as never, repoId: token.repoId ?? null, expiresAt: null, kind: 'personal' } : null,
    });
    const cases: [string, Principal | null, 'read' | 'write' | 'delete' | 'admin', RepoInfo, string][] = [
      ['anonymous reads public', null, 'read', pub, 'ok'],
      ['anonymous reads private', null, 'read', priv, 'unauthenticated'],
      ['anonymous writes public', null, 'write', pub, 'unauthenticated'],
      ['stranger reads private', as('stranger'), 'read', priv, 'hidden'],
      ['stranger writes public', as('stranger'), 'write', pub, 'forbidden'],
      ['reader reads private', as('reader'), 'read', priv, 'ok'],
      ['reader writes private', as('reader'), 'write', priv, 'forbidden'],
      ['writer writes private', as('writer'), 'write', priv, 'ok'],
      ['writer deletes private', as('writer'), 'delete', priv, 'forbidden'],
      ['owner deletes private', as('owner'), 'delete', priv, 'ok'],
      ['owner with read token writes', as('owner', { scopes: ['read'] }), 'write', priv, 'forbidden'],
      ['owner with token for another repo reads', as('owner', { scopes: ['read', 'write'], repoId: pub.id }), 'read', priv, 'hidden'],
      ['owner with token for this repo writes', as('owner', { scopes: ['read', 'write'], repoId: priv.id }), 'write', priv, 'ok'],
      ['site admin reads anything', as('root'), 'read', other, 'ok'],
      ['site admin with write token cannot administer', as('root', { scopes: ['read', 'write'] }), 'admin', other, 'forbidden'],
    ];
    for (const [label, principal, action, repo, expected] of cases) {
      assert.equal(await domain.access.decide(principal, action, repo), expected, label);
    }
    assert.equal(await domain.access.decide(as('writer'), 'delete', priv, 'write'), 'ok', 'policy can lower the role for unpublish');
  });

  it('applies membership changes at once', async () => {
    const stranger: Principal = { userId: ids.stranger!, userName: 'stranger', isAdmin: false, token: null };
    assert.equal(await domain.access.decide(stranger, 'read', priv), 'hidden');
    await domain.accounts.setMember(systemActor, { owner: 'acme', user: 'stranger', role: 'read' });
    assert.equal(await domain.access.decide(stranger, 'read', priv), 'ok');
    await domain.accounts.setMember(systemActor, { owner: 'acme', user: 'stranger', role: null });
    assert.equal(await domain.access.decide(stranger, 'read', priv), 'hidden');
  });
});
