/**
 * Where advisories for an OS package live: the OSV ecosystems (with release) that describe the
 * distribution it is published in. OSV scopes OS advisories to a release (`Debian:12`,
 * `Ubuntu:22.04:LTS`, `AlmaLinux:9`) because each release ships its own builds and fixes; a
 * package must only be held against the records of its own release. Records of the bare
 * ecosystem (`Debian`, no release) apply to every release and are matched by the advisory lookup
 * alongside.
 *
 * Pure functions over explicit tables; a distribution missing here has no OSV ecosystem (or one
 * Stockade cannot name reliably) and gets no OS advisory matching.
 */

/** Debian codenames → OSV release (osv-schema: the `version` column of distro-info-data's debian.csv, `sid` for unstable). */
const DEBIAN_RELEASES: Readonly<Record<string, string>> = {
  wheezy: '7',
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
  sid: 'sid',
  unstable: 'sid',
};

/**
 * Ubuntu codenames → OSV release (osv-schema: `YY.MM`, with a mandatory `:LTS` suffix for LTS
 * releases). LTS releases also have `Ubuntu:Pro:<release>:LTS` records (ESM fixes, universe
 * packages): a version below such a fix is vulnerable on a system without Pro, so both are matched.
 */
const UBUNTU_RELEASES: Readonly<Record<string, { version: string; lts: boolean }>> = {
  trusty: { version: '14.04', lts: true },
  xenial: { version: '16.04', lts: true },
  bionic: { version: '18.04', lts: true },
  focal: { version: '20.04', lts: true },
  jammy: { version: '22.04', lts: true },
  lunar: { version: '23.04', lts: false },
  mantic: { version: '23.10', lts: false },
  noble: { version: '24.04', lts: true },
  oracular: { version: '24.10', lts: false },
  plucky: { version: '25.04', lts: false },
};

/**
 * RPM distributions, as `<family>/<release>` (`el/9`, `opensuse/15.5`), → OSV ecosystems. One
 * row per family; `release` gets the release as written and returns the ecosystems, or an empty
 * list when OSV has none for it.
 *
 * | family                | OSV ecosystems                          | notes                                                    |
 * |-----------------------|-----------------------------------------|----------------------------------------------------------|
 * | el, rhel              | `AlmaLinux:<major>`, `Rocky Linux:<major>` | RHEL rebuilds share NEVRAs; Red Hat's own records are per CPE product stream and not mapped |
 * | almalinux, alma       | `AlmaLinux:<major>`                     |                                                          |
 * | rocky, rockylinux     | `Rocky Linux:<major>`                   |                                                          |
 * | opensuse, leap        | `openSUSE:Leap <x.y>`; `tumbleweed` → `openSUSE:Tumbleweed` | the release is os-release's PRETTY_NAME without the vendor |
 * | mageia                | `Mageia:<release>`                      |                                                          |
 * | photon                | `Photon OS:<x.y>`                       |                                                          |
 * | fedora, centos, sles  | none                                    | Fedora is not in OSV; SUSE files SLES by product module   |
 */
const RPM_FAMILIES: Readonly<Record<string, (release: string) => string[]>> = {
  el: (r) => enterpriseLinux(r, ['AlmaLinux', 'Rocky Linux']),
  rhel: (r) => enterpriseLinux(r, ['AlmaLinux', 'Rocky Linux']),
  almalinux: (r) => enterpriseLinux(r, ['AlmaLinux']),
  alma: (r) => enterpriseLinux(r, ['AlmaLinux']),
  rocky: (r) => enterpriseLinux(r, ['Rocky Linux']),
  rockylinux: (r) => enterpriseLinux(r, ['Rocky Linux']),
  opensuse: openSuse,
  leap: openSuse,
  mageia: (r) => (/^\d+$/.test(r) ? [`Mageia:${r}`] : []),
  photon: (r) => (/^\d+\.\d+$/.test(r) ? [`Photon OS:${r}`] : []),
  fedora: () => [],
  centos: () => [],
  sles: () => [],
};

function enterpriseLinux(release: string, bases: readonly string[]): string[] {
  // `el/9` and `el/9.4` both mean the EL 9 stream, which OSV names by the major release.
  const major = /^(\d+)(?:\.\d+)*$/.exec(release)?.[1];
  return major === undefined ? [] : bases.map((base) => `${base}:${major}`);
}

function openSuse(release: string): string[] {
  if (release === 'tumbleweed') return ['openSUSE:Tumbleweed'];
  return /^\d+\.\d+$/.test(release) ? [`openSUSE:Leap ${release}`] : [];
}

/** Suite suffixes that carry updates for the same release (`bookworm-security`, `jammy-updates`). */
const SUITE_SUFFIX = /-(?:security|updates|backports(?:-sloppy)?|proposed-updates|proposed)$/;

/** The OSV ecosystems of a Debian or Ubuntu distribution (`bookworm`, `jammy-updates`). */
export function debianEcosystems(dist: string): string[] {
  const codename = dist.trim().toLowerCase().replace(/\/updates$/, '').replace(SUITE_SUFFIX, '');
  if (Object.hasOwn(DEBIAN_RELEASES, codename)) return [`Debian:${DEBIAN_RELEASES[codename]}`];
  if (Object.hasOwn(UBUNTU_RELEASES, codename)) {
    const { version, lts } = UBUNTU_RELEASES[codename] as { version: string; lts: boolean };
    return lts ? [`Ubuntu:${version}:LTS`, `Ubuntu:Pro:${version}:LTS`] : [`Ubuntu:${version}`];
  }
  return [];
}

/** The OSV ecosystems of an RPM distribution (`el/9`, `rocky/9`, `opensuse/15.5`). */
export function rpmEcosystems(dist: string): string[] {
  const m = /^([a-z]+)\/([A-Za-z0-9.]+)$/.exec(dist.trim().toLowerCase());
  if (m === null) return [];
  const family = m[1] as string;
  return Object.hasOwn(RPM_FAMILIES, family) ? (RPM_FAMILIES[family] as (release: string) => string[])(m[2] as string) : [];
}

/**
 * The OSV ecosystems (with release) whose advisories apply to a package of `format`
 * (`debian`, `rpm`) published in `dist`; empty when the format or distribution has none.
 */
export function osvEcosystemsFor(format: string, dist: string): string[] {
  if (dist.length > 100) return [];
  if (format === 'debian') return debianEcosystems(dist);
  if (format === 'rpm') return rpmEcosystems(dist);
  return [];
}

/**
 * The base OSV ecosystems (as advisories are stored: `Debian`, `AlmaLinux`) whose records can
 * apply to a package of `format`: what a rescan after an advisory import must map back to
 * stored packages of that format.
 */
export function osvBasesFor(format: string): string[] {
  if (format === 'debian') return ['Debian', 'Ubuntu'];
  if (format === 'rpm') return ['AlmaLinux', 'Rocky Linux', 'openSUSE', 'Mageia', 'Photon OS'];
  return [];
}

/**
 * The source package and its version from a Debian control file (Debian Policy 5.6.1): `Source:
 * src` or `Source: src (1.2-3)` when the source version differs from the binary's (binNMUs,
 * packages built from another source version); absent, the source is named like the binary.
 */
export function debianSource(control: Record<string, unknown>): { name: string; version: string } | undefined {
  const pkg = controlField(control, 'Package');
  const version = controlField(control, 'Version');
  if (pkg === '' || version === '') return undefined;
  const source = controlField(control, 'Source');
  if (source === '') return { name: pkg, version };
  const m = /^([a-z0-9][a-z0-9+.-]*)(?:\s*\(\s*([^()\s]+)\s*\))?$/.exec(source);
  if (m === null) return undefined;
  return { name: m[1] as string, version: m[2] ?? version };
}

/** Control field names are case-insensitive (Debian Policy 5.1). */
function controlField(control: Record<string, unknown>, name: string): string {
  const direct = control[name];
  if (typeof direct === 'string') return direct.trim();
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(control)) if (key.toLowerCase() === lower && typeof value === 'string') return value.trim();
  return '';
}
