import { debianScheme, ubuntuScheme } from './dpkg.js';
import { semverScheme } from './npm.js';
import { pep440Scheme } from './pep440.js';
import { rpmSchemes } from './rpm.js';
import { rubyGemsScheme } from './rubygems.js';
import type { VersionScheme } from './scheme.js';

export type { VersionScheme } from './scheme.js';
export { semverScheme } from './npm.js';

/**
 * Every ecosystem whose versions Stockade can order, by OSV ecosystem name: npm (SemVer 2.0),
 * PyPI (PEP 440), RubyGems (Gem::Version), Debian and Ubuntu (dpkg), the RPM family (rpm).
 * Adding one (Maven, Go, …) is one file in this folder and one line here; nothing registers
 * itself by import. Each scheme is checked against its ecosystem's own tool in
 * test/security/versions/.
 */
const schemes: readonly VersionScheme[] = [semverScheme, pep440Scheme, rubyGemsScheme, debianScheme, ubuntuScheme, ...rpmSchemes];

const byEcosystem = new Map(schemes.map((scheme) => [scheme.ecosystem, scheme]));

/**
 * The version scheme of an OSV ecosystem (`npm`, or a full ecosystem string such as
 * `Debian:12`, read by its base name), or undefined when Stockade cannot order its versions.
 */
export function versionSchemeFor(ecosystem: string): VersionScheme | undefined {
  const colon = ecosystem.indexOf(':');
  return byEcosystem.get(colon === -1 ? ecosystem : ecosystem.slice(0, colon));
}
