import { debianScheme, ubuntuScheme } from './dpkg.js';
import { semverScheme } from './npm.js';
import { rpmSchemes } from './rpm.js';
import type { VersionScheme } from './scheme.js';

export type { VersionScheme } from './scheme.js';
export { semverScheme } from './npm.js';

/**
 * Every ecosystem whose versions Stockade can order, by OSV ecosystem name. Adding one (PyPI's
 * PEP 440, RubyGems, dpkg, rpm, Maven, …) is one file in this folder and one line here; nothing
 * registers itself by import. `rubygems.ts` is written (the rubysec converter uses it) and waits
 * for RubyGems hosting to be listed.
 */
const schemes: readonly VersionScheme[] = [semverScheme, debianScheme, ubuntuScheme, ...rpmSchemes];

const byEcosystem = new Map(schemes.map((scheme) => [scheme.ecosystem, scheme]));

/**
 * The version scheme of an OSV ecosystem (`npm`, or a full ecosystem string such as
 * `Debian:12`, read by its base name), or undefined when Stockade cannot order its versions.
 */
export function versionSchemeFor(ecosystem: string): VersionScheme | undefined {
  const colon = ecosystem.indexOf(':');
  return byEcosystem.get(colon === -1 ? ecosystem : ecosystem.slice(0, colon));
}
