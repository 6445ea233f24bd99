/**
 * The seam between the format-independent remote machinery (upstream client, metadata cache,
 * fetch coalescing, version filtering) and one package format. A format that can be proxied
 * implements RemoteSource; everything else (TTL, ETag revalidation, negative and stale caching,
 * offline mode, retries, size limits, cross-node coalescing) comes from src/remote/.
 *
 * The metadata type `M` is the format's parsed upstream document (an npm packument, a PEP 691
 * project page, a compact-index info file, a Maven metadata.xml, an OCI manifest list).
 */
export interface RemoteSource<M> {
  /** `packages.format` value of what this source stores. */
  format: string;
  /** Where a package's metadata lives, relative to the upstream URL (already percent-encoded). */
  metadataPath(name: string): string;
  /** The Accept header of metadata requests (default `application/json`). */
  metadataAccept?: string;
  /**
   * The document only ever grows at its end between refreshes (the compact index `/versions`):
   * a refresh asks for the new tail only and checks the whole against the upstream's digest.
   */
  appendable?: boolean;
  /** Parses an upstream metadata body as hostile input; throws on anything malformed. */
  parseMetadata(body: string, name: string): M;
  /** Every version the metadata offers, with the upstream's own publish time when it gives one. */
  versions(meta: M): UpstreamVersion[];
  /** Which version a requested file belongs to and where upstream keeps it, or null. */
  locateFile(meta: M, filename: string): LocatedFile | null;
}

export interface UpstreamVersion {
  version: string;
  /** The upstream's publish time (ISO-8601), when known. */
  publishedAt: string | null;
}

export interface LocatedFile {
  version: string;
  /** Absolute URL on the upstream. */
  url: string;
}

/** Why a version is not offered to clients. */
export type HiddenReason = { kind: 'quarantine' | 'block'; detail: string } | { kind: 'cooldown'; detail: string };

export interface VisibilityInput {
  versions: UpstreamVersion[];
  /** What the gate decided for versions already fetched: version → `quarantine` or `block` and why. */
  verdicts: Map<string, { verdict: 'quarantine' | 'block'; reason: string }>;
  cooldownHours: number;
  /** `name` or `name@version` shown despite the cooldown. */
  cooldownAllow: readonly string[];
  name: string;
  now: number;
}

/**
 * Decides which upstream versions clients may see. Versions the gate held or blocked are hidden;
 * with a cooldown, so are versions published upstream less than `cooldownHours` ago (a version
 * without a publish time counts as fresh: unknown age is not old enough), unless allow-listed.
 */
export function hiddenVersions(input: VisibilityInput): Map<string, HiddenReason> {
  const hidden = new Map<string, HiddenReason>();
  const allowAll = input.cooldownAllow.includes(input.name);
  const cutoff = input.now - input.cooldownHours * 3_600_000;
  for (const { version, publishedAt } of input.versions) {
    const verdict = input.verdicts.get(version);
    if (verdict) {
      hidden.set(version, { kind: verdict.verdict, detail: verdict.reason });
      continue;
    }
    if (input.cooldownHours <= 0 || allowAll || input.cooldownAllow.includes(`${input.name}@${version}`)) continue;
    const at = publishedAt === null ? NaN : Date.parse(publishedAt);
    if (Number.isNaN(at) || at > cutoff) {
      hidden.set(version, { kind: 'cooldown', detail: `published upstream less than ${input.cooldownHours} h ago` });
    }
  }
  return hidden;
}
