import { compareRpmVersions } from '../../security/versions/rpm.js';
import type { RpmDependency, RpmFile, RpmPackage } from './package.js';
import { Sense } from './tags.js';

/**
 * rpm-md repository metadata (primary, filelists, other, repomd), rendered as createrepo_c 0.17
 * renders it for the same package: same elements, attributes, order and filtering rules, checked
 * by a differential test against the real tool. Pure functions, no I/O.
 *
 * Every string from a package is hostile: text and attribute values go through `xmlText` /
 * `xmlAttr`, which drop what XML 1.0 forbids and escape the rest, so a document always parses.
 * (createrepo_c refuses to write a package with C0 control characters; we drop them instead.)
 */

export interface RpmFileRef {
  /** Path relative to the repository root, e.g. `Packages/h/hello-1.0-1.x86_64.rpm`. */
  location: string;
  /** sha256 of the whole .rpm file: the pkgid. */
  sha256: string;
  /** Bytes of the .rpm file. */
  size: number;
  /** Seconds since the epoch when the file was added (createrepo's `<time file=…>`). */
  time: number;
}

export interface RepomdEntry {
  type: 'primary' | 'filelists' | 'other';
  /** sha256 of the file as served (compressed). */
  checksum: string;
  /** sha256 of the uncompressed XML. */
  openChecksum: string;
  size: number;
  openSize: number;
  timestamp: number;
  /** e.g. `repodata/<sha256>-primary.xml.gz`. */
  location: string;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS_COMMON = 'http://linux.duke.edu/metadata/common';
const NS_RPM = 'http://linux.duke.edu/metadata/rpm';
const NS_FILELISTS = 'http://linux.duke.edu/metadata/filelists';
const NS_OTHER = 'http://linux.duke.edu/metadata/other';
const NS_REPO = 'http://linux.duke.edu/metadata/repo';

/*
 * The root elements carry no packages="N" attribute, unlike createrepo_c's: the server builds
 * each document from cached per-package pieces between a fixed prefix and suffix, so the prefix
 * must not depend on the package count. The count is advisory: libsolv (which dnf and zypper
 * use to read rpm-md) maps <metadata>, <filelists> and <otherdata> to a pass-through parser
 * state that reads no attribute, and adds one solvable per <package> it meets
 * (ext/repo_rpmmd.c). repodata.test.ts also has dnf 4 read a repository written with these.
 */
export const PRIMARY_OPEN = `${XML_DECLARATION}<metadata xmlns="${NS_COMMON}" xmlns:rpm="${NS_RPM}">\n`;
export const PRIMARY_CLOSE = '</metadata>\n';
export const FILELISTS_OPEN = `${XML_DECLARATION}<filelists xmlns="${NS_FILELISTS}">\n`;
export const FILELISTS_CLOSE = '</filelists>\n';
export const OTHER_OPEN = `${XML_DECLARATION}<otherdata xmlns="${NS_OTHER}">\n`;
export const OTHER_CLOSE = '</otherdata>\n';

// XML 1.0 §2.2 Char: no C0 controls but tab, LF, CR; no U+FFFE/U+FFFF; no unpaired surrogates.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const TEXT_SPECIAL = /[&<>"'\r]/g;
// Attribute-value normalization (XML 1.0 §3.3.3) turns literal tab/LF/CR into spaces: escape them.
const ATTR_SPECIAL = /[&<>"'\t\n\r]/g;
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
const entity = (char: string): string => ENTITIES[char] ?? '';

/** Character data: forbidden characters dropped, markup escaped; a CR survives as `&#13;`. */
export function xmlText(value: string): string {
  return value.replace(FORBIDDEN, '').replace(TEXT_SPECIAL, entity);
}

/** An attribute value (for double quotes), whitespace kept exactly through parsing. */
export function xmlAttr(value: string): string {
  return value.replace(FORBIDDEN, '').replace(ATTR_SPECIAL, entity);
}

/** A count or time: refuses what createrepo could not have written (negative, fractional, NaN). */
function integer(value: number, label: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${label} must be a non-negative integer, got ${value}`);
  return String(value);
}

function element(indent: string, name: string, value: string | null): string {
  return `${indent}<${name}>${xmlText(value ?? '')}</${name}>\n`;
}

/** createrepo writes `src` as the arch of a source package, whatever the header's ARCH says. */
function arch(pkg: RpmPackage): string {
  return pkg.isSource ? 'src' : pkg.arch;
}

function versionElement(pkg: RpmPackage): string {
  return `  <version epoch="${pkg.epoch ?? 0}" ver="${xmlAttr(pkg.version)}" rel="${xmlAttr(pkg.release)}"/>\n`;
}

/** The dependency's version text as in the header (`[epoch:]version[-release]`), rebuilt from its parts. */
function evrText(dep: RpmDependency): string {
  if (dep.version === null && dep.epoch === null) return '';
  const epoch = dep.epoch === null ? '' : `${dep.epoch}:`;
  return `${epoch}${dep.version ?? ''}${dep.release === null ? '' : `-${dep.release}`}`;
}

/** createrepo's pre="1": Requires(pre), Requires(post) and the old PreReq. Not rpmlib(), not pretrans. */
const PRE_BITS = Sense.PREREQ | Sense.SCRIPT_PRE | Sense.SCRIPT_POST;

interface PrimaryDependency {
  dep: RpmDependency;
  pre: boolean;
}

function entry(item: PrimaryDependency): string {
  const { dep, pre } = item;
  let attrs = `name="${xmlAttr(dep.name)}"`;
  // rpm-md carries the version only with a comparison; createrepo writes epoch 0 when absent.
  if (dep.flags !== null) {
    attrs += ` flags="${dep.flags}" epoch="${dep.epoch ?? 0}"`;
    if (dep.version !== null) attrs += ` ver="${xmlAttr(dep.version)}"`;
    if (dep.release !== null) attrs += ` rel="${xmlAttr(dep.release)}"`;
  }
  if (pre) attrs += ' pre="1"';
  return `      <rpm:entry ${attrs}/>\n`;
}

function dependencyBlock(name: string, items: readonly PrimaryDependency[]): string {
  if (items.length === 0) return '';
  return `    <rpm:${name}>\n${items.map(entry).join('')}    </rpm:${name}>\n`;
}

/** createrepo's "primary" files, the ones dnf can resolve without filelists. */
export function isPrimaryFile(path: string): boolean {
  return path.startsWith('/etc/') || path.includes('bin/') || path === '/usr/lib/sendmail';
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

function fileElement(file: RpmFile, indent: string): string {
  // A directory is "dir" even when it is also a ghost, as createrepo decides.
  const type = (file.mode & S_IFMT) === S_IFDIR ? ' type="dir"' : file.flags.ghost ? ' type="ghost"' : '';
  return `${indent}<file${type}>${xmlText(file.path)}</file>\n`;
}

/**
 * How createrepo orders two `libc.so.6(…)` requires by the version inside the first parentheses
 * (`libc.so.6(GLIBC_2.14)(64bit)` beats `libc.so.6(GLIBC_2.3)(64bit)` and `libc.so.6()(64bit)`).
 * True when `next` should replace `current`.
 */
function libcIsHigher(current: string, next: string): boolean {
  let open1 = current.indexOf('(');
  let open2 = next.indexOf('(');
  if (open1 === -1 && open2 === -1) return false;
  if (open1 === -1) return true;
  if (open2 === -1) return false;
  const close1 = current.indexOf(')', open1);
  const close2 = next.indexOf(')', open2);
  if (close1 === -1 && close2 === -1) return false;
  if (close1 === -1) return true;
  if (close2 === -1) return false;
  open1++;
  open2++;
  if (open1 === close1 && open2 === close2) return false;
  if (open1 === close1) return true;
  if (open2 === close2) return false;
  // The version starts at the first digit, which may lie past the closing parenthesis.
  const firstDigit = (text: string, from: number): number => {
    const found = text.slice(from).search(/[0-9]/);
    return found === -1 ? text.length : from + found;
  };
  const start1 = firstDigit(current, open1);
  const start2 = firstDigit(next, open2);
  if (start1 > close1 && start2 > close2) return false;
  if (start1 > close1) return true;
  if (start2 > close2) return false;
  return compareRpmVersions(current.slice(start1, close1), next.slice(start2, close2)) < 0;
}

/**
 * The requires createrepo publishes, in header order: without `rpmlib(…)` (rpm's own
 * capabilities), without the package's own primary files and without what the package itself
 * provides with the same comparison and version; a repeat of the previous requirement of the
 * same name (same comparison, version and pre) is dropped; of the `libc.so.6…` requires only
 * the highest is kept, and it goes last.
 */
function primaryRequires(pkg: RpmPackage): PrimaryDependency[] {
  const files = new Set(pkg.files.map((file) => file.path));
  const provided = new Set(pkg.provides.map((dep) => JSON.stringify([dep.name, dep.flags, evrText(dep)])));
  const previous = new Map<string, string>();
  const kept: PrimaryDependency[] = [];
  let libc: PrimaryDependency | undefined;
  for (const dep of pkg.requires) {
    if (dep.name.startsWith('rpmlib(')) continue;
    if (files.has(dep.name) && isPrimaryFile(dep.name)) continue;
    if (provided.has(JSON.stringify([dep.name, dep.flags, evrText(dep)]))) continue;
    const pre = (dep.rawFlags & PRE_BITS) !== 0;
    const key = JSON.stringify([dep.flags, evrText(dep), pre]);
    if (previous.get(dep.name) === key) continue;
    if (dep.name.startsWith('libc.so.6')) {
      if (libc === undefined || libcIsHigher(libc.dep.name, dep.name)) libc = { dep, pre };
      continue;
    }
    kept.push({ dep, pre });
    previous.set(dep.name, key);
  }
  if (libc !== undefined) kept.push(libc);
  return kept;
}

const plain = (deps: readonly RpmDependency[]): PrimaryDependency[] => deps.map((dep) => ({ dep, pre: false }));

/** One `<package type="rpm">…</package>\n` element of primary.xml. */
export function primaryEntry(pkg: RpmPackage, file: RpmFileRef): string {
  const parts = [
    '<package type="rpm">\n',
    element('  ', 'name', pkg.name),
    element('  ', 'arch', arch(pkg)),
    versionElement(pkg),
    `  <checksum type="sha256" pkgid="YES">${xmlText(file.sha256)}</checksum>\n`,
    element('  ', 'summary', pkg.summary),
    element('  ', 'description', pkg.description),
    element('  ', 'packager', pkg.packager),
    element('  ', 'url', pkg.url),
    `  <time file="${integer(file.time, 'file time')}" build="${pkg.buildTime ?? 0}"/>\n`,
    `  <size package="${integer(file.size, 'file size')}" installed="${pkg.installedSize ?? 0}" archive="${pkg.archiveSize ?? 0}"/>\n`,
    `  <location href="${xmlAttr(file.location)}"/>\n`,
    '  <format>\n',
    element('    ', 'rpm:license', pkg.license),
    element('    ', 'rpm:vendor', pkg.vendor),
    element('    ', 'rpm:group', pkg.group),
    element('    ', 'rpm:buildhost', pkg.buildHost),
    element('    ', 'rpm:sourcerpm', pkg.sourceRpm),
    `    <rpm:header-range start="${pkg.headerRange.start}" end="${pkg.headerRange.end}"/>\n`,
    // createrepo's order, weak dependencies included.
    dependencyBlock('provides', plain(pkg.provides)),
    dependencyBlock('requires', primaryRequires(pkg)),
    dependencyBlock('conflicts', plain(pkg.conflicts)),
    dependencyBlock('obsoletes', plain(pkg.obsoletes)),
    dependencyBlock('suggests', plain(pkg.suggests)),
    dependencyBlock('enhances', plain(pkg.enhances)),
    dependencyBlock('recommends', plain(pkg.recommends)),
    dependencyBlock('supplements', plain(pkg.supplements)),
    ...pkg.files.filter((f) => isPrimaryFile(f.path)).map((f) => fileElement(f, '    ')),
    '  </format>\n',
    '</package>\n',
  ];
  return parts.join('');
}

function packageOpen(pkg: RpmPackage, pkgid: string): string {
  return `<package pkgid="${xmlAttr(pkgid)}" name="${xmlAttr(pkg.name)}" arch="${xmlAttr(arch(pkg))}">\n${versionElement(pkg)}`;
}

/** One `<package pkgid=… name=… arch=…>…</package>\n` element of filelists.xml: every file, typed. */
export function filelistsEntry(pkg: RpmPackage, pkgid: string): string {
  return `${packageOpen(pkg, pkgid)}${pkg.files.map((f) => fileElement(f, '  ')).join('')}</package>\n`;
}

/**
 * createrepo's changelog quirks, reproduced so both tools publish the same dates: entries come
 * out oldest first; an entry dated like the one before it (in header order) pushes the earlier
 * ones with that date one second later each, so the dates stay distinct; trailing spaces of the
 * author are dropped (never its first character).
 */
function changelogEntries(pkg: RpmPackage): string {
  const out: { author: string; time: number; text: string }[] = [];
  let lastTime = 0;
  for (const item of pkg.changelog ?? []) {
    let author = item.author;
    let end = author.length;
    while (end > 1 && author[end - 1] === ' ') end--;
    author = author.slice(0, end);
    out.unshift({ author, time: item.time, text: item.text });
    if (item.time === lastTime) {
      let time = item.time;
      for (const earlier of out.slice(1)) {
        if (earlier.time !== time) break;
        earlier.time++;
        time++;
      }
    } else {
      lastTime = item.time;
    }
  }
  return out
    .map((c) => `  <changelog author="${xmlAttr(c.author)}" date="${c.time}">${xmlText(c.text)}</changelog>\n`)
    .join('');
}

/** One `<package …>` element of other.xml: the changelog entries `parseRpm` kept. */
export function otherEntry(pkg: RpmPackage, pkgid: string): string {
  return `${packageOpen(pkg, pkgid)}${changelogEntries(pkg)}</package>\n`;
}

/** repodata/repomd.xml, the index a client reads first. */
export function repomdXml(input: { revision: string; entries: readonly RepomdEntry[] }): string {
  const data = input.entries.map((e) =>
    [
      `  <data type="${xmlAttr(e.type)}">\n`,
      `    <checksum type="sha256">${xmlText(e.checksum)}</checksum>\n`,
      `    <open-checksum type="sha256">${xmlText(e.openChecksum)}</open-checksum>\n`,
      `    <location href="${xmlAttr(e.location)}"/>\n`,
      `    <timestamp>${integer(e.timestamp, 'timestamp')}</timestamp>\n`,
      `    <size>${integer(e.size, 'size')}</size>\n`,
      `    <open-size>${integer(e.openSize, 'open-size')}</open-size>\n`,
      '  </data>\n',
    ].join(''),
  );
  return [
    XML_DECLARATION,
    `<repomd xmlns="${NS_REPO}" xmlns:rpm="${NS_RPM}">\n`,
    `  <revision>${xmlText(input.revision)}</revision>\n`,
    ...data,
    '</repomd>\n',
  ].join('');
}
