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
  kind: 'hosted';
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

export interface Database {
  users: UsersTable;
  owners: OwnersTable;
  members: MembersTable;
  repos: ReposTable;
  tokens: TokensTable;
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
}

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: services accept both so callers can compose them. */
export type DbOrTx = Kysely<Database> | Transaction<Database>;
