import { dump, RubyHash, RubyObject } from '@hyrious/marshal';
import { deflateSync, gzipSync } from 'node:zlib';
import type { GemRequirement } from './spec-yaml.js';

/**
 * The Ruby objects of the Marshal index (`specs.4.8.gz`, `quick/Marshal.4.8/*.gemspec.rz`),
 * shaped as RubyGems 3.x dumps them: Gem::Version and Gem::Requirement through `marshal_dump`
 * (type `U`), Gem::Specification through `_dump` (type `u`, a nested Marshal string), the build
 * date as a UTC Time, Gem::Dependency and Gem::Platform as plain objects with instance variables.
 */

/** One row of specs.4.8: `[name, Gem::Version, platform]`. */
export type SpecTuple = [name: string, version: string, platform: string];

/** What a quick spec holds; the same fields RubyGems' `Gem::Specification#_dump` writes. */
export interface MarshalSpec {
  name: string;
  version: string;
  platform: string;
  rubygemsVersion?: string;
  specificationVersion?: string;
  date?: string;
  summary?: string;
  description?: string;
  email: string[];
  authors: string[];
  homepage?: string;
  licenses: string[];
  metadata: Record<string, string>;
  requiredRubyVersion: GemRequirement[];
  requiredRubygemsVersion: GemRequirement[];
  dependencies: { name: string; type: 'runtime' | 'development'; requirements: GemRequirement[] }[];
}

const sym = (name: string) => Symbol.for(name);

function userMarshal(className: string, value: unknown): RubyObject {
  const object = new RubyObject(sym(className));
  object.userMarshal = value;
  return object;
}

function plainObject(className: string, ivars: Record<string, unknown>): RubyObject {
  const object = new RubyObject(sym(className)) as RubyObject & Record<symbol, unknown>;
  for (const [name, value] of Object.entries(ivars)) object[sym(name)] = value;
  return object;
}

export function gemVersion(version: string): RubyObject {
  return userMarshal('Gem::Version', [version]);
}

/** Gem::Requirement; an empty list is RubyGems' default `>= 0`. */
export function gemRequirement(requirements: readonly GemRequirement[]): RubyObject {
  const list = requirements.length === 0 ? [['>=', '0'] as GemRequirement] : requirements;
  return userMarshal('Gem::Requirement', [list.map(([op, version]) => [op, gemVersion(version)])]);
}

function gemDependency(dep: MarshalSpec['dependencies'][number]): RubyObject {
  return plainObject('Gem::Dependency', {
    '@name': dep.name,
    '@requirement': gemRequirement(dep.requirements),
    '@type': sym(dep.type),
    '@prerelease': false,
    // RubyGems before 1.3 read this name; current ones still write it.
    '@version_requirements': gemRequirement(dep.requirements),
  });
}

/** `Gem::Platform.new(text)` as cpu, os and version (RubyGems' platform.rb, String branch). */
export function parsePlatform(text: string): { cpu: string | null; os: string; version: string | null } {
  const parts = text.split('-');
  if (parts.length > 2 && !/\d/.test(parts[parts.length - 1] as string)) {
    // x86-linux-gnu: the last two parts are one os.
    const extra = parts.pop() as string;
    parts[parts.length - 1] += `-${extra}`;
  }
  const first = parts.shift() as string;
  let cpu: string | null = /i\d86/.test(first) ? 'x86' : first;
  if (parts.length === 2 && /^\d+(\.\d+)?$/.test(parts[1] as string)) {
    return { cpu, os: parts[0] as string, version: parts[1] as string };
  }
  let os = parts[0];
  if (os === undefined) {
    // `java`, `mswin32`: an os alone.
    os = first;
    cpu = null;
  }
  const rules: [RegExp, (m: RegExpExecArray) => [string, string | null]][] = [
    [/aix(\d+)?/, (m) => ['aix', m[1] ?? null]],
    [/cygwin/, () => ['cygwin', null]],
    [/darwin(\d+)?/, (m) => ['darwin', m[1] ?? null]],
    [/^macruby$/, () => ['macruby', null]],
    [/freebsd(\d+)?/, (m) => ['freebsd', m[1] ?? null]],
    [/hpux(\d+)?/, (m) => ['hpux', m[1] ?? null]],
    [/^(?:java|jruby)$/, () => ['java', null]],
    [/^java([\d.]*)/, (m) => ['java', m[1] ?? null]],
    [/^dalvik(\d+)?$/, (m) => ['dalvik', m[1] ?? null]],
    [/^dotnet$/, () => ['dotnet', null]],
    [/^dotnet([\d.]*)/, (m) => ['dotnet', m[1] ?? null]],
    [/linux-?((?!gnu)\w+)?/, (m) => ['linux', m[1] ?? null]],
    [/mingw32/, () => ['mingw32', null]],
    [/mingw-?(\w+)?/, (m) => ['mingw', m[1] ?? null]],
    [/(mswin\d+)(_(\d+))?/, (m) => [m[1] as string, m[3] ?? null]],
    [/netbsdelf/, () => ['netbsdelf', null]],
    [/openbsd(\d+\.\d+)?/, (m) => ['openbsd', m[1] ?? null]],
    [/bitrig(\d+\.\d+)?/, (m) => ['bitrig', m[1] ?? null]],
    [/solaris(\d+\.\d+)?/, (m) => ['solaris', m[1] ?? null]],
    [/^(\w+_platform)(\d+)?/, (m) => [m[1] as string, m[2] ?? null]],
  ];
  for (const [pattern, result] of rules) {
    const match = pattern.exec(os);
    if (!match) continue;
    const [name, version] = result(match);
    if (pattern.source.startsWith('(mswin') && cpu === null && name.endsWith('32')) cpu = 'x86';
    return { cpu, os: name, version };
  }
  return { cpu, os: 'unknown', version: null };
}

function gemPlatform(platform: string): string | RubyObject {
  if (platform === 'ruby') return 'ruby';
  const { cpu, os, version } = parsePlatform(platform);
  return plainObject('Gem::Platform', { '@cpu': cpu, '@os': os, '@version': version });
}

/** Time#_dump of midnight UTC of the spec's date (RubyGems keeps dates to the day). */
function rubyTime(date: string | undefined): RubyObject {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(date ?? '');
  // Gem::Specification::TODAY is what RubyGems uses for a missing or odd date; a fixed day keeps
  // the index reproducible.
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [1980, 1, 2];
  const time = new RubyObject(sym('Time'));
  const bytes = Buffer.alloc(8);
  // marshal.c time_mdump: 1 | utc | year-1900 (16 bits) | month-1 (4) | day (5) | hour (5); then min, sec, usec.
  const high = ((1 << 31) | (1 << 30) | ((year - 1900) << 14) | ((month - 1) << 10) | (day << 5)) >>> 0;
  bytes.writeUInt32LE(high, 0);
  bytes.writeUInt32LE(0, 4);
  time.userDefined = new Uint8Array(bytes);
  return time;
}

/** `spec.specification_version` as Gem::Specification._load accepts it (1–4). */
function specificationVersion(text: string | undefined): number {
  const value = Number.parseInt(text ?? '', 10);
  return Number.isInteger(value) && value >= 1 && value <= 4 ? value : 4;
}

function stringHash(map: Record<string, string>): RubyHash {
  return new RubyHash(Object.entries(map));
}

/** The array Gem::Specification#_dump marshals (19 fields, rubyforge_project left empty). */
function specDumpArray(spec: MarshalSpec): unknown[] {
  const email = spec.email.length === 0 ? null : spec.email.length === 1 ? spec.email[0] : spec.email;
  return [
    spec.rubygemsVersion ?? '3.3.15',
    specificationVersion(spec.specificationVersion),
    spec.name,
    gemVersion(spec.version),
    rubyTime(spec.date),
    spec.summary ?? '',
    gemRequirement(spec.requiredRubyVersion),
    gemRequirement(spec.requiredRubygemsVersion),
    spec.platform,
    spec.dependencies.map(gemDependency),
    '',
    email,
    spec.authors,
    spec.description ?? '',
    spec.homepage ?? null,
    true,
    gemPlatform(spec.platform),
    spec.licenses,
    stringHash(spec.metadata),
  ];
}

/** Marshal bytes of a Gem::Specification, as `Marshal.dump(spec)` writes them. */
export function marshalSpec(spec: MarshalSpec): Buffer {
  const object = new RubyObject(sym('Gem::Specification'));
  object.userDefined = dump(specDumpArray(spec));
  return Buffer.from(dump(object));
}

/** `quick/Marshal.4.8/NAME-VERSION[-PLATFORM].gemspec.rz`: zlib deflate of the marshalled spec. */
export function quickSpecRz(spec: MarshalSpec): Buffer {
  return deflateSync(marshalSpec(spec));
}

/** `specs.4.8.gz` and its siblings: gzip of the marshalled tuple list. */
export function specsIndexGz(tuples: readonly SpecTuple[]): Buffer {
  const rows = tuples.map(([name, version, platform]) => [name, gemVersion(version), platform]);
  // mtime 0: every node renders the same bytes for the same tuples.
  return gzipSync(Buffer.from(dump(rows)), { level: 9 });
}
