/**
 * How names compare in each ecosystem: the normalization that makes two spellings the same
 * package, and the affixes squatters bolt onto a popular name (`lodash-js`, `python-requests`).
 */

export interface EcosystemNaming {
  /** Two names are the same package exactly when their normalized forms are equal. */
  normalize(name: string): string;
  /** Whether names are case-sensitive on the wire (npm's legacy `JSONStream`). */
  caseSensitive: boolean;
  /** npm `@scope/name`. */
  scoped: boolean;
  prefixes: readonly string[];
  suffixes: readonly string[];
  /** Whether `name-2` / `name-v2` is checked as a version number bolted onto `name`. */
  versionSuffix: boolean;
}

const lower = (name: string): string => name.toLowerCase();

/** PEP 503: runs of `-`, `_`, `.` are one `-`, and case does not matter. */
export const pep503 = (name: string): string => name.replace(/[-_.]+/g, '-').toLowerCase();

const NPM: EcosystemNaming = {
  normalize: lower,
  caseSensitive: true,
  scoped: true,
  prefixes: ['node-', 'js-', 'nodejs-'],
  suffixes: ['-js', '.js', 'js', '-lib', '-dev'],
  versionSuffix: true,
};

const PYPI: EcosystemNaming = {
  normalize: pep503,
  caseSensitive: false,
  scoped: false,
  prefixes: ['python-', 'py-', 'py', 'python'],
  suffixes: ['-python', '-py', 'py', '-lib', '-dev'],
  versionSuffix: false,
};

/**
 * RubyGems: a gem name is matched exactly by `gem install`, but the gem service refuses a new
 * name that differs from an existing one only in letter case, so case is folded. `-` and `_` are
 * kept apart (`rails_html_sanitizer` is another gem than `rails-html-sanitizer`): a swap between
 * them is the `separator` technique, flagged like any other look-alike.
 */
const RUBYGEMS: EcosystemNaming = {
  normalize: lower,
  caseSensitive: false,
  scoped: false,
  prefixes: ['ruby-', 'ruby_', 'rb-', 'rb_'],
  suffixes: ['-ruby', '_ruby', '-rb', '_rb', '.rb', '-lib', '-dev'],
  versionSuffix: false,
};

const OTHER: EcosystemNaming = {
  normalize: lower,
  caseSensitive: false,
  scoped: false,
  prefixes: [],
  suffixes: ['-lib', '-dev'],
  versionSuffix: false,
};

export function namingFor(ecosystem: string): EcosystemNaming {
  if (ecosystem === 'npm') return NPM;
  if (ecosystem === 'PyPI') return PYPI;
  if (ecosystem === 'RubyGems') return RUBYGEMS;
  return OTHER;
}
