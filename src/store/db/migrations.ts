import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Dialect } from './connect.js';

type Builder = Kysely<unknown>;

/** Migrations are code, ordered by name; each runs once, inside a transaction, at start. */
function migrations(dialect: Dialect): Record<string, Migration> {
  // Both dialects get an auto-incrementing integer key; only the spelling differs.
  const id = (table: ReturnType<Builder['schema']['createTable']>) =>
    dialect === 'postgres'
      ? table.addColumn('id', 'serial', (c) => c.primaryKey())
      : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';

  return {
    '0001-core': {
      async up(db: Builder) {
        await id(db.schema.createTable('users'))
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('email', 'text')
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await id(db.schema.createTable('owners'))
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('members')
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('members_pk', ['owner_id', 'user_id'])
          .execute();

        await id(db.schema.createTable('repos'))
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('visibility', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('repos_owner_name', ['owner_id', 'name'])
          .execute();

        await id(db.schema.createTable('tokens'))
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('display', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('repo_id', 'integer', (c) => c.references('repos.id').onDelete('cascade'))
          .addColumn('expires_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('tokens_user').on('tokens').column('user_id').execute();

        await id(db.schema.createTable('audit_log'))
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('actor_ip', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .execute();
        // A chain has exactly one successor per entry: two writers racing on the same head cannot both commit.
        await db.schema.createIndex('audit_prev_hash').on('audit_log').column('prev_hash').unique().execute();
        await db.schema.createIndex('audit_target').on('audit_log').columns(['target', 'id']).execute();

        await id(db.schema.createTable('packages'))
          .addColumn('repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('rev', bigint, (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('packages_repo_format_name', ['repo_id', 'format', 'name'])
          .execute();

        await id(db.schema.createTable('versions'))
          .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('metadata', 'text', (c) => c.notNull())
          .addColumn('deprecated', 'text')
          .addColumn('publisher', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('versions_package_version', ['package_id', 'version'])
          .execute();

        await id(db.schema.createTable('files'))
          .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
          .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id').onDelete('cascade'))
          .addColumn('filename', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('sha512', 'text', (c) => c.notNull())
          .addColumn('sha1', 'text', (c) => c.notNull())
          .addColumn('md5', 'text', (c) => c.notNull())
          .addColumn('size', bigint, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('files_package_filename', ['package_id', 'filename'])
          .execute();
        await db.schema.createIndex('files_version').on('files').column('version_id').execute();
        await db.schema.createIndex('files_sha256').on('files').column('sha256').execute();

        await db.schema
          .createTable('dist_tags')
          .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
          .addColumn('tag', 'text', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('dist_tags_pk', ['package_id', 'tag'])
          .execute();

        await db.schema
          .createTable('retired_versions')
          .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('retired_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('retired_versions_pk', ['package_id', 'version'])
          .execute();
      },
    },
    '0002-gate': {
      async up(db: Builder) {
        // What the gate decided for each stored version; quarantined versions are invisible to clients.
        await db.schema.alterTable('versions').addColumn('status', 'text', (c) => c.notNull().defaultTo('published')).execute();
        await db.schema.alterTable('versions').addColumn('verdict', 'text', (c) => c.notNull().defaultTo('allow')).execute();
        await db.schema.alterTable('versions').addColumn('findings', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        await db.schema.alterTable('versions').addColumn('gate', 'text').execute();

        await db.schema
          .createTable('scan_results')
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('analyzer', 'text', (c) => c.notNull())
          .addColumn('analyzer_version', 'integer', (c) => c.notNull())
          .addColumn('findings', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('scan_results_pk', ['sha256', 'analyzer', 'analyzer_version'])
          .execute();

        await db.schema
          .createTable('advisories')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('modified', 'text', (c) => c.notNull())
          .addColumn('withdrawn', 'text')
          .addColumn('malicious', 'integer', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('summary', 'text', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('imported_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('advisory_packages')
          .addColumn('advisory_id', 'text', (c) => c.notNull().references('advisories.id').onDelete('cascade'))
          .addColumn('ecosystem', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('advisory_packages_pk', ['advisory_id', 'ecosystem', 'name'])
          .execute();
        await db.schema.createIndex('advisory_packages_name').on('advisory_packages').columns(['ecosystem', 'name']).execute();

        await db.schema
          .createTable('repo_policies')
          .addColumn('repo_id', 'integer', (c) => c.primaryKey().references('repos.id').onDelete('cascade'))
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await id(db.schema.createTable('policy_exceptions'))
          .addColumn('repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('package', 'text', (c) => c.notNull())
          .addColumn('version', 'text')
          .addColumn('rule', 'text')
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('policy_exceptions_repo').on('policy_exceptions').column('repo_id').execute();
      },
    },
    '0003-gate-state': {
      async up(db: Builder) {
        // Shared facts about the gate, e.g. which analyzer versions last evaluated the stored packages.
        await db.schema
          .createTable('gate_state')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0004-trust': {
      async up(db: Builder) {
        // TOTP: the secret is sealed with the server key; last_step makes every code single-use.
        await db.schema
          .createTable('totp_credentials')
          .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
          .addColumn('secret_sealed', 'text', (c) => c.notNull())
          .addColumn('confirmed_at', 'text')
          .addColumn('last_step', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_binding', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await id(db.schema.createTable('recovery_codes'))
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();

        await db.schema.alterTable('owners').addColumn('mfa_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();

        // Token kinds: personal, automation, read (minted by a repository's master token, parent_id).
        await db.schema.alterTable('tokens').addColumn('kind', 'text', (c) => c.notNull().defaultTo('personal')).execute();
        await db.schema.alterTable('tokens').addColumn('parent_id', 'integer').execute();
        await db.schema.alterTable('tokens').addColumn('cidrs', 'text').execute();
        await db.schema.alterTable('tokens').addColumn('last_used_at', 'text').execute();
        await db.schema.alterTable('tokens').addColumn('last_used_ip', 'text').execute();
        await db.schema.createIndex('tokens_parent').on('tokens').column('parent_id').execute();

        // Failed password and code attempts, per account and per client address, shared by all nodes.
        await db.schema
          .createTable('auth_throttle')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('locked_until', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await id(db.schema.createTable('sessions'))
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('csrf', 'text', (c) => c.notNull())
          .addColumn('ip', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      },
    },
    '0005-repo-keys': {
      async up(db: Builder) {
        // Each repository signs its metadata (APT InRelease, repomd.xml.asc) with keys of its own.
        // During a rotation two keys are active and both sign; the private key is sealed.
        await id(db.schema.createTable('repo_keys'))
          .addColumn('repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('public_armored', 'text', (c) => c.notNull())
          .addColumn('private_sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('retired_at', 'text')
          .addUniqueConstraint('repo_keys_repo_fingerprint', ['repo_id', 'fingerprint'])
          .execute();
        await db.schema.createIndex('repo_keys_repo').on('repo_keys').column('repo_id').execute();
      },
    },
    '0006-apt': {
      async up(db: Builder) {
        // Which distribution and component of a repository lists a Debian package version, with
        // its Packages stanza rendered once at upload.
        await id(db.schema.createTable('apt_entries'))
          .addColumn('repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id').onDelete('cascade'))
          .addColumn('dist', 'text', (c) => c.notNull())
          .addColumn('component', 'text', (c) => c.notNull())
          .addColumn('arch', 'text', (c) => c.notNull())
          .addColumn('pool_path', 'text', (c) => c.notNull())
          .addColumn('stanza', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('apt_entries_repo_dist_component_version', ['repo_id', 'dist', 'component', 'version_id'])
          .execute();
        await db.schema.createIndex('apt_entries_index').on('apt_entries').columns(['repo_id', 'dist', 'component', 'arch']).execute();
        await db.schema.createIndex('apt_entries_pool').on('apt_entries').columns(['repo_id', 'pool_path']).execute();
      },
    },
    '0007-rpm': {
      async up(db: Builder) {
        // Which distribution (`el/9`) of a repository lists an RPM, with its rpm-md elements
        // rendered once at upload.
        await id(db.schema.createTable('rpm_entries'))
          .addColumn('repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('version_id', 'integer', (c) => c.notNull().references('versions.id').onDelete('cascade'))
          .addColumn('dist', 'text', (c) => c.notNull())
          .addColumn('arch', 'text', (c) => c.notNull())
          .addColumn('location', 'text', (c) => c.notNull())
          .addColumn('primary_xml', 'text', (c) => c.notNull())
          .addColumn('filelists_xml', 'text', (c) => c.notNull())
          .addColumn('other_xml', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('rpm_entries_repo_dist_version', ['repo_id', 'dist', 'version_id'])
          .execute();
        await db.schema.createIndex('rpm_entries_location').on('rpm_entries').columns(['repo_id', 'dist', 'location']).execute();
        // Indexes are rebuilt block by block: entries of one distribution in id order.
        await db.schema.createIndex('rpm_entries_blocks').on('rpm_entries').columns(['repo_id', 'dist', 'id']).execute();
        await db.schema.createIndex('apt_entries_blocks').on('apt_entries').columns(['repo_id', 'dist', 'id']).execute();
        // A changed package leads to its listings through its versions.
        await db.schema.createIndex('apt_entries_version').on('apt_entries').columns(['version_id']).execute();
        await db.schema.createIndex('rpm_entries_version').on('rpm_entries').columns(['version_id']).execute();
      },
    },
    '0008-yank': {
      async up(db: Builder) {
        // A yanked version (PEP 592, `gem yank`) keeps its files; indexes mark it or leave it out.
        await db.schema.alterTable('versions').addColumn('yanked_at', 'text').execute();
        await db.schema.alterTable('versions').addColumn('yank_reason', 'text').execute();
      },
    },
    '0009-remote': {
      async up(db: Builder) {
        // How a remote (proxy) repository reaches its upstream; one row per remote repository.
        await db.schema
          .createTable('remote_upstreams')
          .addColumn('repo_id', 'integer', (c) => c.primaryKey().references('repos.id').onDelete('cascade'))
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('credentials_sealed', 'text')
          .addColumn('metadata_ttl_seconds', 'integer', (c) => c.notNull())
          .addColumn('negative_ttl_seconds', 'integer', (c) => c.notNull())
          .addColumn('timeout_ms', 'integer', (c) => c.notNull())
          .addColumn('retries', 'integer', (c) => c.notNull())
          .addColumn('concurrency', 'integer', (c) => c.notNull())
          .addColumn('offline', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('cooldown_hours', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('cooldown_allow', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('max_metadata_bytes', 'integer', (c) => c.notNull())
          .addColumn('max_file_bytes', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        // The last upstream answer for a package's metadata, shared by every node.
        await db.schema
          .createTable('remote_metadata')
          .addColumn('repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('fetched_at', 'text', (c) => c.notNull())
          .addColumn('status', 'integer', (c) => c.notNull())
          .addColumn('etag', 'text')
          .addColumn('last_modified', 'text')
          .addColumn('body', 'text')
          .addColumn('last_error', 'text')
          .addColumn('blocked', 'text', (c) => c.notNull().defaultTo('{}'))
          .addPrimaryKeyConstraint('remote_metadata_pk', ['repo_id', 'name'])
          .execute();
        // Who is fetching a file from upstream right now, so other nodes wait instead of fetching too.
        await db.schema
          .createTable('remote_leases')
          .addColumn('repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('holder', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('remote_leases_pk', ['repo_id', 'key'])
          .execute();
      },
    },
    '0010-virtual': {
      async up(db: Builder) {
        // A virtual repository: one format, merged from an ordered list of hosted and remote members.
        await db.schema
          .createTable('virtual_repos')
          .addColumn('repo_id', 'integer', (c) => c.primaryKey().references('repos.id').onDelete('cascade'))
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('virtual_members')
          .addColumn('virtual_repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('member_repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('position', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('virtual_members_pk', ['virtual_repo_id', 'member_repo_id'])
          .execute();
        // Which virtual repositories contain a remote repository: asked on every upstream refresh.
        await db.schema.createIndex('virtual_members_member').on('virtual_members').column('member_repo_id').execute();
        // Names reserved for the hosted members even before they are published.
        await db.schema
          .createTable('virtual_claims')
          .addColumn('virtual_repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('pattern', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('virtual_claims_pk', ['virtual_repo_id', 'pattern'])
          .execute();
        // An upstream offering a name the virtual repository keeps private: one row per (virtual, name, remote).
        await id(db.schema.createTable('virtual_collisions'))
          .addColumn('virtual_repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('remote_repo_id', 'integer', (c) => c.notNull().references('repos.id').onDelete('cascade'))
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('upstream_versions', 'text', (c) => c.notNull())
          .addColumn('seen_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('virtual_collisions_once', ['virtual_repo_id', 'name', 'remote_repo_id'])
          .execute();
      },
    },
    '0011-remote-prefetch': {
      async up(db: Builder) {
        await db.schema
          .alterTable('remote_upstreams')
          .addColumn('prefetch', 'integer', (c) => c.notNull().defaultTo(1))
          .execute();
        await db.schema
          .alterTable('remote_upstreams')
          .addColumn('file_origins', 'text', (c) => c.notNull().defaultTo('[]'))
          .execute();
      },
    },
  };
}

export async function migrate(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, migrationTableName: 'stockade_migrations', migrationLockTableName: 'stockade_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}

/** Used by the readiness probe. */
export async function pingDatabase(db: Kysely<unknown>): Promise<void> {
  await sql`select 1`.execute(db);
}
