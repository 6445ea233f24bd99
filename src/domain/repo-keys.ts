import * as openpgp from 'openpgp';
import { isUniqueViolation } from '../store/db/connect.js';
import type { Db } from '../store/db/schema.js';
import { StockadeError } from '../errors.js';
import type { Actor, AuditLog } from './audit.js';
import type { ChangeBus } from './changes.js';
import type { RepoInfo } from './repos.js';
import type { SecretBox } from './secret-box.js';
import { nowIso } from './time.js';

export interface RepoKeyInfo {
  fingerprint: string;
  createdAt: string;
  retiredAt: string | null;
}

export interface RepoKeysOptions {
  /** RSA modulus size: 4096 by default, which every apt and rpm accepts; 2048 only to keep tests fast. */
  rsaBits: 2048 | 3072 | 4096;
}

/** The OpenPGP User ID of a repository's key: says whose key it is without any host name. */
function userIdOf(repo: RepoInfo): { name: string; comment: string } {
  return { name: `Stockade ${repo.path}`, comment: 'repository signing key' };
}

/**
 * Per-repository OpenPGP keys that sign repository metadata (APT InRelease and Release.gpg,
 * repomd.xml.asc). A repository gets its first key when it first needs one; key generation is
 * native (WebCrypto) and runs off the event loop. The private key is stored sealed with the server
 * key. A rotation adds a key and keeps the old one signing until it is retired, so clients that
 * only know the old key keep verifying during the transition.
 */
export function createRepoKeys(deps: { db: Db; audit: AuditLog; changes: ChangeBus; box: SecretBox }, options: RepoKeysOptions) {
  const { db, audit, box } = deps;
  // Unsealed signing keys, per repository; dropped when keys change on any node.
  const signers = new Map<number, Promise<openpgp.PrivateKey[]>>();
  const inFlight = new Map<number, Promise<void>>();
  deps.changes.subscribe((topic, key) => {
    if (topic === 'repo-key' && key !== '*') signers.delete(Number(key));
    else if (topic === 'repo-key' || (topic === 'repo' && key === '*')) signers.clear();
  });

  const purpose = (repoId: number, fingerprint: string) => `repo-key:${repoId}:${fingerprint}`;

  async function generate(repo: RepoInfo) {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'rsa', rsaBits: options.rsaBits, userIDs: [userIdOf(repo)], format: 'armored' });
    const parsed = await openpgp.readKey({ armoredKey: publicKey });
    return { fingerprint: parsed.getFingerprint().toUpperCase(), publicKey, privateKey };
  }

  async function insertKey(actor: Actor, repo: RepoInfo, key: { fingerprint: string; publicKey: string; privateKey: string }, action: string): Promise<void> {
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('repo_keys')
        .values({
          repo_id: repo.id,
          fingerprint: key.fingerprint,
          public_armored: key.publicKey,
          private_sealed: box.seal(key.privateKey, purpose(repo.id, key.fingerprint)),
          created_at: nowIso(),
          retired_at: null,
        })
        .execute();
      await audit.record(tx, actor, { action, target: `repo:${repo.path}`, details: { fingerprint: key.fingerprint, rsaBits: options.rsaBits } });
    });
    deps.changes.publish('repo-key', String(repo.id));
  }

  async function activeRows(repoId: number) {
    return db.selectFrom('repo_keys').selectAll().where('repo_id', '=', repoId).where('retired_at', 'is', null).orderBy('id').execute();
  }

  /**
   * Makes sure the repository has a signing key. Concurrent callers on this node share one
   * generation; another node racing on the same repository may add a second key, which is
   * harmless (both sign) and rare: only the first ever use of a repository can race.
   */
  async function ensure(actor: Actor, repo: RepoInfo): Promise<void> {
    if ((await activeRows(repo.id)).length > 0) return;
    let pending = inFlight.get(repo.id);
    if (!pending) {
      pending = (async () => {
        const key = await generate(repo);
        if ((await activeRows(repo.id)).length > 0) return;
        try {
          await insertKey(actor, repo, key, 'repo.key.create');
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
        }
      })().finally(() => inFlight.delete(repo.id));
      inFlight.set(repo.id, pending);
    }
    await pending;
  }

  async function signingKeys(repo: RepoInfo): Promise<openpgp.PrivateKey[]> {
    let keys = signers.get(repo.id);
    if (!keys) {
      keys = (async () => {
        await ensure({ name: 'system', ip: null }, repo);
        const rows = await activeRows(repo.id);
        return Promise.all(rows.map((row) => openpgp.readPrivateKey({ armoredKey: box.open(row.private_sealed, purpose(repo.id, row.fingerprint)) })));
      })();
      signers.set(repo.id, keys);
      keys.catch(() => signers.delete(repo.id));
    }
    return keys;
  }

  /** An OpenPGP cleartext-signed document (APT InRelease), signed by every active key. */
  async function clearsign(repo: RepoInfo, text: string): Promise<string> {
    const message = await openpgp.createCleartextMessage({ text });
    return openpgp.sign({ message, signingKeys: await signingKeys(repo) });
  }

  /** An armored detached signature over `data` (APT Release.gpg, repomd.xml.asc), by every active key. */
  async function detachedSign(repo: RepoInfo, data: string | Buffer): Promise<string> {
    const message = typeof data === 'string' ? await openpgp.createMessage({ text: data, format: 'binary' }) : await openpgp.createMessage({ binary: data });
    return openpgp.sign({ message, signingKeys: await signingKeys(repo), detached: true, format: 'armored' });
  }

  /** The public keys clients should trust: armored (`gpg.key`) and as a binary keyring (`signed-by=`). */
  async function publicKeys(repo: RepoInfo): Promise<{ armored: string; binary: Buffer; fingerprints: string[] }> {
    await ensure({ name: 'system', ip: null }, repo);
    const rows = await activeRows(repo.id);
    const keys = await Promise.all(rows.map((row) => openpgp.readKey({ armoredKey: row.public_armored })));
    const binary = Buffer.concat(keys.map((key) => Buffer.from(key.write())));
    const armored = rows.map((row) => row.public_armored.trim()).join('\n') + '\n';
    return { armored, binary, fingerprints: rows.map((row) => row.fingerprint) };
  }

  async function list(repo: RepoInfo): Promise<RepoKeyInfo[]> {
    const rows = await db.selectFrom('repo_keys').select(['fingerprint', 'created_at', 'retired_at']).where('repo_id', '=', repo.id).orderBy('id').execute();
    return rows.map((row) => ({ fingerprint: row.fingerprint, createdAt: row.created_at, retiredAt: row.retired_at }));
  }

  /** Starts a rotation: a new key joins the active ones; both sign until the old one is retired. */
  async function rotate(actor: Actor, repo: RepoInfo): Promise<RepoKeyInfo> {
    await ensure(actor, repo);
    const key = await generate(repo);
    await insertKey(actor, repo, key, 'repo.key.rotate');
    return { fingerprint: key.fingerprint, createdAt: nowIso(), retiredAt: null };
  }

  /** Ends a rotation: the key stops signing. The last active key cannot be retired. */
  async function retire(actor: Actor, repo: RepoInfo, fingerprint: string): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const active = await tx.selectFrom('repo_keys').select(['id', 'fingerprint']).where('repo_id', '=', repo.id).where('retired_at', 'is', null).execute();
      const target = active.find((row) => row.fingerprint === fingerprint.toUpperCase());
      if (!target) throw new StockadeError('NOT_FOUND', [`active key ${fingerprint} of ${repo.path}`]);
      if (active.length === 1) throw new StockadeError('CONFLICT', ['the last active key of a repository cannot be retired: rotate first']);
      await tx.updateTable('repo_keys').set({ retired_at: nowIso() }).where('id', '=', target.id).execute();
      await audit.record(tx, actor, { action: 'repo.key.retire', target: `repo:${repo.path}`, details: { fingerprint: target.fingerprint } });
    });
    deps.changes.publish('repo-key', String(repo.id));
  }

  return { ensure, clearsign, detachedSign, publicKeys, list, rotate, retire };
}

export type RepoKeys = ReturnType<typeof createRepoKeys>;
