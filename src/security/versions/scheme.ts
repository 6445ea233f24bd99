/**
 * How one ecosystem orders its versions. Advisory matching (OSV `ECOSYSTEM` ranges) sorts and
 * compares event versions with it; `SEMVER` ranges always use the npm (SemVer 2.0) scheme.
 */
export interface VersionScheme {
  /** OSV ecosystem name, e.g. `npm`. */
  readonly ecosystem: string;
  /** True when `compare` accepts `v`. */
  isValid(v: string): boolean;
  /**
   * Negative, zero or positive as `a` sorts before, equal to or after `b`. Both must be valid
   * (`isValid`); an invalid version throws.
   */
  compare(a: string, b: string): number;
}
