import type { Generated, Kysely, Transaction } from 'kysely';

/**
 * Table shapes shared by both dialects. Times are ISO-8601 UTC strings and JSON is text, so
 * SQLite and PostgreSQL return the same JavaScript values; booleans are 0/1 integers.
 */
export interface UsersTable {
  id: Generated<number>;
  name: string;
  email: string | null;
  password_hash: string;
  is_admin: number;
  disabled: number;
  created_at: string;
}

export interface OwnersTable {
  id: Generated<number>;
  name: string;
  kind: 'user' | 'org';
  /** For a user's personal namespace: the user. */
  user_id: number | null;
  /** 1 when every member must have two-factor authentication to act on this owner. */
  mfa_required: Generated<number>;
  created_at: string;
}

export interface MembersTable {
  owner_id: number;
  user_id: number;
  role: 'admin' | 'write' | 'read';
  created_at: string;
}

export interface ReposTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  visibility: 'public' | 'private';
  kind: 'hosted' | 'remote' | 'virtual';
  description: string;
  created_at: string;
}

export interface TokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  /** sha256 (hex) of the secret; the secret itself is never stored. */
  hash: string;
  /** First characters of the secret, shown in listings. */
  display: string;
  /** Comma-separated subset of read,write,admin. */
  scopes: string;
  repo_id: number | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  kind: Generated<'personal' | 'automation' | 'master' | 'read'>;
  /** For a read token: the repository master token that minted it (revoking the master revokes it). */
  parent_id: number | null;
  /** Comma-separated CIDR blocks the token may be used from; null = anywhere. */
  cidrs: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
}

export interface TotpCredentialsTable {
  user_id: number;
  /** The base32 secret, sealed with the server key (see domain/secret-box). */
  secret_sealed: string;
  /** Null until the user proved the authenticator works with a first code. */
  confirmed_at: string | null;
  /** The last accepted time step: a code is accepted once. */
  last_step: number;
  /** The credential that presented the code of last_step; only it may present that code again (one command, several requests). */
  last_binding: string | null;
  created_at: string;
}

export interface RecoveryCodesTable {
  id: Generated<number>;
  user_id: number;
  code_hash: string;
  used_at: string | null;
  created_at: string;
}

export interface AuthThrottleTable {
  /** `user:<name>` or `ip:<address>`, with the kind of secret (`password`, `otp`). */
  key: string;
  failures: number;
  locked_until: string | null;
  updated_at: string;
}

export interface SessionsTable {
  id: Generated<number>;
  /** sha256 of the cookie value; the value itself is never stored. */
  hash: string;
  user_id: number;
  /** sha256 of the CSRF token bound to the session. */
  csrf: string;
  ip: string | null;
  created_at: string;
  last_seen_at: string;
  /** Absolute expiry; the idle limit is checked against last_seen_at. */
  expires_at: string;
  revoked_at: string | null;
}

export interface RepoKeysTable {
  id: Generated<number>;
  repo_id: number;
  /** Upper-case hex fingerprint of the primary key. */
  fingerprint: string;
  public_armored: string;
  /** The armored private key, sealed with the server key (purpose `repo-key:<repo id>:<fingerprint>`). */
  private_sealed: string;
  created_at: string;
  /** Set when a rotation retires the key: it no longer signs, but stays listed until removed. */
  retired_at: string | null;
}

export interface AptEntriesTable {
  id: Generated<number>;
  repo_id: number;
  version_id: number;
  /** Distribution codename, e.g. `bookworm`. */
  dist: string;
  component: string;
  /** The package's architecture; `all` is listed in every architecture's index. */
  arch: string;
  pool_path: string;
  /** The Packages stanza, ending with a newline. */
  stanza: string;
  created_at: string;
}

export interface RpmEntriesTable {
  id: Generated<number>;
  repo_id: number;
  version_id: number;
  /** Distribution and release, e.g. `el/9`. */
  dist: string;
  arch: string;
  /** Path below the distribution, e.g. `Packages/h/hello-1.0-1.x86_64.rpm`. */
  location: string;
  /** This package's elements of primary.xml, filelists.xml and other.xml. */
  primary_xml: string;
  filelists_xml: string;
  other_xml: string;
  created_at: string;
}

export interface AuditTable {
  id: Generated<number>;
  at: string;
  actor: string;
  actor_ip: string | null;
  action: string;
  target: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface PackagesTable {
  id: Generated<number>;
  repo_id: number;
  format: string;
  name: string;
  /** Bumped on every change; the npm `_rev` and cache keys derive from it. */
  rev: number;
  created_at: string;
  updated_at: string;
}

export interface VersionsTable {
  id: Generated<number>;
  package_id: number;
  version: string;
  /** Format-specific metadata derived from the artifact itself (JSON). */
  metadata: string;
  deprecated: string | null;
  /** When the version was yanked (PyPI, RubyGems): still stored, no longer offered to resolvers. */
  yanked_at: string | null;
  /** The publisher's reason for the yank; empty when none was given. */
  yank_reason: string | null;
  publisher: string;
  created_at: string;
  /** `published` (visible) or `quarantined` (stored, invisible until a reviewer approves it). */
  status: Generated<'published' | 'quarantined'>;
  /** The gate's verdict: allow, warn, quarantine. */
  verdict: Generated<string>;
  /** Findings with the action policy gave each (JSON array). */
  findings: Generated<string>;
  /** Gate bookkeeping (JSON): tags to apply on approval, review decision, failed analyzers. */
  gate: string | null;
}

export interface FilesTable {
  id: Generated<number>;
  package_id: number;
  version_id: number;
  filename: string;
  sha256: string;
  sha512: string;
  sha1: string;
  md5: string;
  size: number;
  created_at: string;
}

export interface DistTagsTable {
  package_id: number;
  tag: string;
  version: string;
  updated_at: string;
}

/** Versions once published and then removed; npm semantics forbid reusing them. */
export interface RetiredVersionsTable {
  package_id: number;
  version: string;
  retired_at: string;
}

/** Cached analyzer results, keyed by content and analyzer version (only for content-only analyzers). */
export interface ScanResultsTable {
  sha256: string;
  analyzer: string;
  analyzer_version: number;
  findings: string;
  created_at: string;
}

export interface AdvisoriesTable {
  /** OSV id (`GHSA-…`, `MAL-…`, `PYSEC-…`). */
  id: string;
  modified: string;
  withdrawn: string | null;
  malicious: number;
  severity: string;
  summary: string;
  /** The normalized advisory (JSON). */
  document: string;
  /** Where it was imported from (file path or URL). */
  source: string;
  imported_at: string;
}

/** Which packages an advisory names: the index matching uses. */
export interface AdvisoryPackagesTable {
  advisory_id: string;
  ecosystem: string;
  name: string;
}

export interface RepoPoliciesTable {
  repo_id: number;
  /** The policy document (JSON). */
  document: string;
  updated_at: string;
}

export interface PolicyExceptionsTable {
  id: Generated<number>;
  repo_id: number;
  /** Package name or glob. */
  package: string;
  version: string | null;
  /** Rule id or glob; null for every rule. */
  rule: string | null;
  reason: string;
  expires_at: string | null;
  created_by: string;
  created_at: string;
}

export interface GateStateTable {
  key: string;
  value: string;
  updated_at: string;
}

/** A remote repository's upstream; see src/domain/remote-settings.ts. */
export interface RemoteUpstreamsTable {
  repo_id: number;
  format: string;
  url: string;
  /** The Authorization header value, sealed with the server key (purpose `upstream:<repo id>`). */
  credentials_sealed: string | null;
  metadata_ttl_seconds: number;
  negative_ttl_seconds: number;
  timeout_ms: number;
  retries: number;
  concurrency: number;
  offline: number;
  /** 1: fetch the `latest` file in the background when an install reads metadata. */
  prefetch: number;
  /** Upstream versions younger than this are hidden; 0 = off. */
  cooldown_hours: number;
  /** JSON array of `name` or `name@version` exempt from the cooldown. */
  cooldown_allow: string;
  /** JSON array of origins besides the upstream's that files may come from. */
  file_origins: string;
  max_metadata_bytes: number;
  max_file_bytes: number;
  updated_at: string;
}

export interface RemoteMetadataTable {
  repo_id: number;
  name: string;
  fetched_at: string;
  /** The upstream's last definite answer: 200 (body holds it) or 404. */
  status: number;
  etag: string | null;
  last_modified: string | null;
  body: string | null;
  /** Why the last refresh failed, while stale data is served; null after a success. */
  last_error: string | null;
  /** JSON map version → reason for versions the gate blocked (never stored, so remembered here). */
  blocked: Generated<string>;
}

export interface RemoteLeasesTable {
  repo_id: number;
  key: string;
  holder: string;
  expires_at: string;
}

/** A virtual repository's format; see src/domain/virtual-repos.ts. */
export interface VirtualReposTable {
  repo_id: number;
  format: string;
  updated_at: string;
}

export interface VirtualMembersTable {
  virtual_repo_id: number;
  member_repo_id: number;
  /** 0-based; lower positions are asked first. */
  position: number;
}

export interface VirtualClaimsTable {
  virtual_repo_id: number;
  /** `@scope/*`, `prefix-*`, `prefix.*` or an exact name, normalized for the format. */
  pattern: string;
}

export interface VirtualCollisionsTable {
  id: Generated<number>;
  virtual_repo_id: number;
  name: string;
  remote_repo_id: number;
  /** Why the name is protected: `hosted`, `scope` or `claim:<pattern>`. */
  reason: string;
  /** JSON: the upstream's version count, newest version and latest tag when first seen. */
  upstream_versions: string;
  seen_at: string;
}

export interface Database {
  users: UsersTable;
  owners: OwnersTable;
  members: MembersTable;
  repos: ReposTable;
  tokens: TokensTable;
  totp_credentials: TotpCredentialsTable;
  recovery_codes: RecoveryCodesTable;
  auth_throttle: AuthThrottleTable;
  sessions: SessionsTable;
  repo_keys: RepoKeysTable;
  apt_entries: AptEntriesTable;
  rpm_entries: RpmEntriesTable;
  audit_log: AuditTable;
  packages: PackagesTable;
  versions: VersionsTable;
  files: FilesTable;
  dist_tags: DistTagsTable;
  retired_versions: RetiredVersionsTable;
  scan_results: ScanResultsTable;
  advisories: AdvisoriesTable;
  advisory_packages: AdvisoryPackagesTable;
  repo_policies: RepoPoliciesTable;
  policy_exceptions: PolicyExceptionsTable;
  gate_state: GateStateTable;
  remote_upstreams: RemoteUpstreamsTable;
  remote_metadata: RemoteMetadataTable;
  remote_leases: RemoteLeasesTable;
  virtual_repos: VirtualReposTable;
  virtual_members: VirtualMembersTable;
  virtual_claims: VirtualClaimsTable;
  virtual_collisions: VirtualCollisionsTable;
}

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: services accept both so callers can compose them. */
export type DbOrTx = Kysely<Database> | Transaction<Database>;
