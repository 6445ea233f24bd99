/**
 * The contract between the security gate and its analyzers. An analyzer reads a read-only view
 * of an artifact's unpacked contents plus what the format derived from the artifact itself, and
 * returns findings. The gate stamps each finding with the analyzer id, caches results, applies
 * the repository's policy and turns the findings into a verdict.
 */

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const CONFIDENCES = ['low', 'medium', 'high'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

export interface FindingLocation {
  /** Path inside the package, as the client would install it (npm: without `package/`). */
  file: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  column?: number;
}

/** What an analyzer reports. The gate adds the analyzer id. */
export interface AnalyzerFinding {
  /** Stable rule id, `<analyzer>/<rule>`, e.g. `secrets/aws-access-key-id`. Policies select on it. */
  rule: string;
  severity: Severity;
  confidence: Confidence;
  /** One sentence a publisher understands. Must never contain a secret in clear. */
  message: string;
  location?: FindingLocation;
  /** A short excerpt (≤ 200 characters) with secrets redacted. */
  evidence?: string;
  /** Rule-specific facts (advisory id, matched name, …); JSON-serializable. */
  details?: Record<string, unknown>;
}

export interface Finding extends AnalyzerFinding {
  analyzer: string;
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'link';

export interface ViewEntry {
  /** Installed path inside the package, `/`-separated, never starting with `/` or containing `..`. */
  readonly path: string;
  readonly type: EntryType;
  readonly size: number;
  readonly mode: number;
  /** Symlinks and hard links only; recorded, never followed. */
  readonly linkTarget?: string;
  /** False when the body was not kept because it exceeded the view's per-file or total budget. */
  readonly kept: boolean;
}

/**
 * A read-only view of an artifact's contents, unpacked once and shared by every analyzer.
 * Bodies are held in memory within the view's budget; `read` returns undefined for anything
 * that is not a kept regular file.
 */
export interface ContentView {
  readonly entries: readonly ViewEntry[];
  /** Regular files only. */
  readonly files: readonly ViewEntry[];
  /** Sum of regular file sizes. */
  readonly unpackedSize: number;
  get(path: string): ViewEntry | undefined;
  read(path: string): Buffer | undefined;
  /**
   * The file decoded as UTF-8 (a BOM removed, invalid sequences replaced by U+FFFD), or
   * undefined when the file is binary (a NUL byte in its first 8 KiB) or not kept.
   */
  text(path: string): string | undefined;
}

/** What the format derived from the artifact itself. */
export interface ArtifactInfo {
  /** Format name: `npm`, `pypi`, … */
  format: string;
  /** OSV ecosystem: `npm`, `PyPI`, … */
  ecosystem: string;
  name: string;
  version: string;
  filename: string;
  /** Hex sha256 of the artifact bytes. */
  sha256: string;
  /** Every digest the server computed over the bytes it received, hex, by algorithm (`sha512`, `sha1`, `md5`). */
  digests?: Record<string, string>;
  size: number;
  /** The artifact's own manifest (npm: its package.json, normalized as published). */
  manifest: Record<string, unknown>;
}

/** What a publisher or upstream claimed about the artifact; compared by the integrity analyzer. */
export interface ArtifactClaims {
  /** Digests claimed by the client or upstream, hex, by algorithm (`sha512`, `sha1`, `sha256`, `md5`). */
  digests?: Record<string, string>;
  /** The metadata document the client sent alongside the bytes. */
  manifest?: Record<string, unknown>;
}

/** One advisory that affects a (ecosystem, name, version). */
export interface AdvisoryMatch {
  id: string;
  aliases: string[];
  summary: string;
  severity: Severity;
  /** OSV `MAL-` records and records carrying CWE-506. */
  malicious: boolean;
  /** Human ranges, e.g. `>=1.0.0 <1.2.3`, for messages. */
  affectedRanges: string;
  /** First fixed versions, if any. */
  fixed: string[];
  url?: string;
}

export interface AdvisoryLookup {
  /** Advisories affecting this exact version, withdrawn ones excluded. */
  affecting(ecosystem: string, name: string, version: string): Promise<AdvisoryMatch[]>;
}

/** Names that are popular in an ecosystem; typosquat targets. */
export interface PopularNames {
  /** Most popular first. */
  list(ecosystem: string): readonly string[];
}

export interface AnalysisContext {
  artifact: ArtifactInfo;
  claims?: ArtifactClaims;
  advisories: AdvisoryLookup;
  popular: PopularNames;
  /**
   * Names the same owner already publishes in this ecosystem (typosquat exemptions). Loaded on
   * first call only: most artifacts resemble no popular name and never need the list.
   */
  ownerNames(): Promise<ReadonlySet<string>>;
  /**
   * Throws once the analyzer's time budget is spent. CPU-bound analyzers call it between files
   * (and inside long loops) so a pathological input ends as a recorded timeout, not a stall.
   */
  checkDeadline(): void;
}

export interface Analyzer {
  /** Short stable id: `secrets`, `malware`, … Rule ids start with it. */
  readonly id: string;
  /** Bump when rules change: cached results of older versions are then ignored. */
  readonly version: number;
  /**
   * True when findings depend only on the artifact bytes, so results may be cached by
   * (content sha256, id, version). Analyzers reading advisories, names of other packages or
   * client claims are not cacheable.
   */
  readonly cacheable: boolean;
  appliesTo(artifact: ArtifactInfo): boolean;
  analyze(view: ContentView, ctx: AnalysisContext): AnalyzerFinding[] | Promise<AnalyzerFinding[]>;
}
