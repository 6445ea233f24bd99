import type { CoreMetadata } from './metadata.js';

/**
 * What the security gate reads about a Python distribution besides its files. The contract the
 * Python analyzers rely on (format `pypi`, OSV ecosystem `PyPI`):
 *
 * - every field of the artifact's own core metadata (wheel `METADATA`, sdist `PKG-INFO`) as plain
 *   JSON, named as in `CoreMetadata` (`name`, `normalizedName`, `version`, `normalizedVersion`,
 *   `requiresPython`, `requiresDist`, `requirements`, `classifiers`, `projectUrls`, …), without the
 *   raw `fields` map and the parser's `warnings`;
 * - `packagetype`: `bdist_wheel` or `sdist`;
 * - `filename`: the distribution file name.
 *
 * The content view that goes with it holds archive paths for a wheel (`demo/__init__.py`,
 * `demo-1.0.dist-info/METADATA`, `demo-1.0.data/scripts/x`, `x.pth`) and, for an sdist, paths
 * inside the project with the top `{name}-{version}/` removed (`setup.py`, `pyproject.toml`).
 */
export type PackageType = 'sdist' | 'bdist_wheel';

export type PypiGateManifest = Omit<CoreMetadata, 'fields' | 'warnings'> & { packagetype: PackageType; filename: string };

export function pypiGateManifest(metadata: CoreMetadata, packagetype: PackageType, filename: string): PypiGateManifest {
  const { fields: _fields, warnings: _warnings, ...plain } = metadata;
  // A structured clone: nothing of the parser's objects is shared with analyzers.
  return { ...(JSON.parse(JSON.stringify(plain)) as Omit<CoreMetadata, 'fields' | 'warnings'>), packagetype, filename };
}
