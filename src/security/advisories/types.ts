import type { Severity } from '../types.js';

export type RangeType = 'SEMVER' | 'ECOSYSTEM' | 'GIT';
export type EventKind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

/** One OSV range event, e.g. `{"fixed": "1.2.3"}` is `{ kind: 'fixed', version: '1.2.3' }`. */
export interface RangeEvent {
  kind: EventKind;
  version: string;
}

export interface AffectedRange {
  type: RangeType;
  /** GIT ranges only: the repository the commit hashes belong to. */
  repo?: string;
  /** As the record lists them; matching sorts them itself. */
  events: RangeEvent[];
}

/** One `affected[]` entry of an OSV record: a package and the versions of it that are affected. */
export interface AffectedPackage {
  /** Base OSV ecosystem name: `npm`, `PyPI`, `Debian` (for `Debian:12`). */
  ecosystem: string;
  /** The ecosystem string of the record (base name in its canonical spelling): `Debian:12`. */
  ecosystemFull: string;
  /** Normalized for lookups: PyPI names per PEP 503 (`Foo_Bar` → `foo-bar`); others as given. */
  name: string;
  purl?: string;
  ranges: AffectedRange[];
  /** Explicitly listed affected versions. */
  versions: string[];
}

/** An OSV record, validated and reduced to what Stockade uses. Plain data (JSON-serializable). */
export interface Advisory {
  id: string;
  /** RFC 3339 UTC timestamps, as in the record. */
  modified: string;
  published?: string;
  /** Set when the record was withdrawn; the advisory is kept but must no longer match. */
  withdrawn?: string;
  aliases: string[];
  related: string[];
  /** One line; from `summary`, else the start of `details`, else the id. */
  summary: string;
  /** `details`, cut to a bounded length. */
  details: string;
  severity: Severity;
  /** A malicious-package record: id `MAL-…`, or CWE-506 (embedded malicious code). */
  malicious: boolean;
  /** http(s) reference URLs, deduplicated. */
  references: string[];
  affected: AffectedPackage[];
}
