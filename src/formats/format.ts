import type { FastifyInstance } from 'fastify';
import type { Actor } from '../domain/audit.js';
import type { PackageRef, PublishInput } from '../domain/packages.js';
import type { BlobDigests } from '../store/blobs/blob-store.js';
import type { Verdict } from '../security/policy.js';
import type { RepoInfo } from '../domain/repos.js';
import type { ServerContext } from '../http/context.js';
import type { ContentView } from '../security/types.js';

/** An artifact opened as hostile input: its own identity and manifest, and its unpacked contents. */
export interface InspectedArtifact {
  name: string;
  version: string;
  filename: string;
  manifest: Record<string, unknown>;
  view: ContentView;
}

export interface UploadTarget {
  distribution?: string;
  component?: string;
  /** For inspection: every distribution the file is listed in, whose OS advisories all apply. */
  listedIn?: readonly string[];
}

/** The result of storing one uploaded file through a format's own rules. */
export interface UploadResult {
  format: string;
  name: string;
  version: string;
  filename: string;
  sha256: string;
  size: number;
  /** What the security gate decided: `allow`, `warn` or `quarantine` (a block is an error). */
  verdict: 'allow' | 'warn' | 'quarantine';
  /** Why, when the verdict is not `allow`. */
  reasons: string[];
}

/** A new file, parsed and judged by the gate, not stored yet: what bulk imports batch. */
export interface StagedUpload {
  ref: PackageRef;
  data: Buffer;
  /** The gate's decision (a block was already an error). */
  verdict: Verdict;
  /** The answer's identity fields. */
  result: Pick<UploadResult, 'format' | 'name' | 'version' | 'filename'>;
  /** What to record once the bytes are stored. */
  publication(digests: BlobDigests): PublishInput;
}

/** A staged upload still to store, or one settled without storing anything (the same file again). */
export type Staged = { kind: 'new'; staged: StagedUpload } | { kind: 'done'; result: UploadResult };

/** The answer for a staged upload once stored. */
export function stagedResult(staged: StagedUpload, digests: BlobDigests): UploadResult {
  return { ...staged.result, sha256: digests.sha256, size: digests.size, verdict: staged.verdict.action as UploadResult['verdict'], reasons: staged.verdict.reasons };
}

/** Stores one staged upload on its own: its bytes, then its one transaction. */
export async function commitStaged(ctx: ServerContext, actor: Actor, staged: StagedUpload): Promise<UploadResult> {
  const digests = await ctx.blobs.put(staged.data);
  await ctx.domain.packages.publish(actor, staged.ref, staged.publication(digests));
  return stagedResult(staged, digests);
}

/**
 * What a package format provides. Adding a format is one folder plus one line in list.ts.
 * Its client protocol is mounted at `/{owner}/{repo}/{name}/`.
 */
export interface Format {
  /** URL segment and `packages.format` value, e.g. `npm`. */
  name: string;
  /** OSV ecosystem name. */
  ecosystem: string;
  compareVersions(a: string, b: string): number;
  /** Registers the client protocol's routes; `app` is already scoped to `/:owner/:repo/{name}`. */
  routes(app: FastifyInstance, ctx: ServerContext): Promise<void>;
  /** Claims an uploaded file (REST API / `stockade push`) by its name and first bytes, or passes. */
  claims(filename: string, head: Buffer): boolean;
  /**
   * Opens an artifact without storing anything: what the gate scans (rescans, `stockade scan`).
   * `target` is where it is listed, for formats whose findings depend on it (the distribution
   * decides which OS advisories apply). Throws INVALID_ARCHIVE / UNSAFE_ARCHIVE like an upload would.
   */
  inspect(data: Buffer, filename: string, target?: UploadTarget): Promise<InspectedArtifact>;
  /**
   * Stores an uploaded file: parse it, derive its metadata from the artifact, publish. `target`
   * is where in the repository it goes, for formats that have such places (APT: distribution
   * and component).
   */
  upload(ctx: ServerContext, input: { repo: RepoInfo; actor: Actor; filename: string; data: Buffer; tag?: string; target?: UploadTarget }): Promise<UploadResult>;
  /**
   * Optional, for bulk imports: everything upload does short of storing a new file (parse, check,
   * judge), so the importer can store many files at once. `upload` of such a format is stage
   * followed by commitStaged.
   */
  stage?(ctx: ServerContext, input: { repo: RepoInfo; actor: Actor; filename: string; data: Buffer; target?: UploadTarget }): Promise<Staged>;
}
