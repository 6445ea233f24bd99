import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Alias, type Node as YamlNode, type Scalar, type Tags } from 'yaml';
import { StockadeError } from '../../errors.js';
import { rubyGemsScheme } from '../../security/versions/rubygems.js';
import { printable } from '../npm/names.js';

/**
 * Reads the YAML RubyGems writes into a gem (`metadata.gz`, `checksums.yaml.gz`) as data, never
 * as code: nothing is instantiated, Ruby tags only label the maps they sit on.
 *
 * Tags: exactly the classes RubyGems' own loader permits (Gem::SafeYAML::PERMITTED_CLASSES:
 * Gem::Specification, Version, Requirement, Version::Requirement, Dependency, Platform and the
 * Syck DefaultKey placeholder), plus symbols (`:runtime`, `!ruby/symbol`), `!binary` and the YAML
 * core tags. Any other tag is refused with INVALID_ARCHIVE naming it, because Ruby itself refuses
 * to load such a spec (Psych::DisallowedClass): reading it as a plain map would make us judge a
 * gem no client can install the same way.
 *
 * Bounds: document size, nesting depth, nodes produced (aliases are expanded, so they count each
 * time) and alias expansions (`maxAliasCount`): "billion laughs" documents are refused.
 *
 * Scalars follow Psych's YAML 1.1 reading where it matters here: plain `~`/`null`/empty is nil,
 * `true/false/yes/no/on/off` are booleans, `:name` is a symbol. Plain numbers are kept as the text
 * written; Psych quotes number-like strings, so `gem build` output reads the same either way.
 */

export interface RubyYamlLimits {
  /** Largest document in bytes (UTF-8). */
  maxBytes: number;
  /** Most alias expansions in the whole document, nested expansions included. */
  maxAliasCount: number;
  /** Most values produced, counting every expansion of an alias. */
  maxNodes: number;
  /** Deepest nesting of collections. */
  maxDepth: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_RUBY_YAML_LIMITS: Readonly<RubyYamlLimits> = Object.freeze({
  // The largest specs (many thousands of files listed) stay well under 1 MiB.
  maxBytes: 4 * MiB,
  // Old RubyGems wrote `version_requirements: *id001` once per dependency; nothing needs more.
  maxAliasCount: 1000,
  maxNodes: 500_000,
  maxDepth: 64,
});

/** A Ruby value as read from YAML. */
export type RubyValue = null | boolean | string | RubySymbol | RubyObject | RubyHash | RubyValue[];

export interface RubySymbol {
  kind: 'symbol';
  name: string;
}

/** A `!ruby/object:Class` map; the fields are the object's instance variables. */
export interface RubyObject {
  kind: 'object';
  rubyClass: string;
  fields: Map<string, RubyValue>;
}

export interface RubyHash {
  kind: 'hash';
  entries: Map<string, RubyValue>;
}

const RUBY_OBJECT_TAG = '!ruby/object:';
const PERMITTED_CLASSES = [
  'Gem::Specification',
  'Gem::Version',
  'Gem::Requirement',
  'Gem::Version::Requirement',
  'Gem::Dependency',
  'Gem::Platform',
  'YAML::Syck::DefaultKey',
  'Syck::DefaultKey',
];
const SYMBOL_TAGS = new Set(['!ruby/symbol', '!ruby/sym']);
const BINARY_TAGS = new Set(['!binary', 'tag:yaml.org,2002:binary']);
const CORE = 'tag:yaml.org,2002:';
const CORE_SCALAR_TAGS = new Set(['str', 'null', 'bool', 'int', 'float', 'timestamp'].map((t) => CORE + t));

// Registered so the yaml package composes them without "unresolved tag" noise; they resolve to the
// node itself, and `toRuby` below reads the tag off the node.
const CUSTOM_TAGS: Tags = [
  ...PERMITTED_CLASSES.map((cls) => ({ tag: RUBY_OBJECT_TAG + cls, collection: 'map' as const, resolve: (value: unknown) => value })),
  ...[...SYMBOL_TAGS, '!binary'].map((tag) => ({ tag, resolve: (value: string) => value })),
];

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSES = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

/**
 * Parses one YAML document into Ruby values. `source` names the document in messages, e.g.
 * `metadata.gz`. Throws INVALID_ARCHIVE for malformed YAML and refused tags, UNSAFE_ARCHIVE when a
 * bound is passed.
 */
export function readRubyYaml(text: string, source: string, limits: Partial<RubyYamlLimits> = {}): RubyValue {
  const opts: RubyYamlLimits = { ...DEFAULT_RUBY_YAML_LIMITS, ...limits };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > opts.maxBytes) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`${source} is ${bytes} bytes of YAML, more than the limit of ${opts.maxBytes}`]);
  }
  try {
    // failsafe: every scalar stays the text written, and we resolve it the way Psych does.
    const doc = parseDocument(text, { schema: 'failsafe', customTags: CUSTOM_TAGS, uniqueKeys: true, prettyErrors: false });
    const first = doc.errors[0];
    if (first !== undefined) {
      throw new StockadeError('INVALID_ARCHIVE', [`${source} is not valid YAML (${printable(first.message.split('\n')[0], 160)})`]);
    }
    // An alias names the latest anchor before it in the text, which document order gives us.
    const anchors = new Map<string, YamlNode>();
    const targets = new Map<Alias, YamlNode | undefined>();
    visit(doc, {
      Node(_key, node) {
        if (isAlias(node)) targets.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
    const reader = new Reader(source, opts, targets);
    return reader.read((doc.contents ?? null) as YamlNode | null, 0);
  } catch (error) {
    if (error instanceof StockadeError) throw error;
    // The composer recurses: absurd nesting can overflow the stack before our depth check runs.
    const detail = error instanceof RangeError ? 'nested too deeply' : error instanceof Error ? error.message : String(error);
    throw new StockadeError('INVALID_ARCHIVE', [`${source} could not be read as YAML (${printable(detail, 160)})`]);
  }
}

class Reader {
  #nodes = 0;
  #aliases = 0;
  readonly #expanding = new Set<YamlNode>();

  constructor(
    readonly source: string,
    readonly limits: RubyYamlLimits,
    readonly targets: Map<Alias, YamlNode | undefined>,
  ) {}

  #fail(node: YamlNode | null, message: string): never {
    throw new StockadeError('INVALID_ARCHIVE', [`${this.source}${this.#at(node)}: ${message}`]);
  }

  #at(node: YamlNode | null): string {
    const offset = node?.range?.[0];
    return offset === undefined ? '' : ` at offset ${offset}`;
  }

  read(node: YamlNode | null, depth: number): RubyValue {
    if (++this.#nodes > this.limits.maxNodes) {
      throw new StockadeError('UNSAFE_ARCHIVE', [`${this.source} expands to more than ${this.limits.maxNodes} YAML values (an alias bomb?)`]);
    }
    if (depth > this.limits.maxDepth) {
      throw new StockadeError('UNSAFE_ARCHIVE', [`${this.source}${this.#at(node)}: YAML nested more than ${this.limits.maxDepth} levels deep`]);
    }
    if (node === null) return null;
    if (isAlias(node)) {
      if (++this.#aliases > this.limits.maxAliasCount) {
        throw new StockadeError('UNSAFE_ARCHIVE', [
          `${this.source} expands more than ${this.limits.maxAliasCount} YAML aliases (an alias bomb?)`,
        ]);
      }
      const target = this.targets.get(node);
      if (target === undefined) this.#fail(node, `alias *${printable(node.source, 40)} has no anchor before it`);
      if (this.#expanding.has(target)) this.#fail(node, `alias *${printable(node.source, 40)} refers to a value that contains it`);
      this.#expanding.add(target);
      try {
        return this.read(target, depth + 1);
      } finally {
        this.#expanding.delete(target);
      }
    }
    const tag = node.tag;
    if (isScalar(node)) return this.#scalar(node, tag);
    if (isSeq(node)) {
      if (tag !== undefined && tag !== `${CORE}seq`) this.#refuseTag(node, tag);
      return node.items.map((item) => this.read(item as YamlNode | null, depth + 1));
    }
    if (isMap(node)) {
      const entries = new Map<string, RubyValue>();
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        // Plain keys are read as written: Psych would make `yes:` a boolean key, which no field uses.
        const key =
          keyNode === null ? null : isScalar(keyNode) && keyNode.tag === undefined ? String(keyNode.value ?? '') : this.read(keyNode, depth + 1);
        if (typeof key !== 'string') {
          this.#fail(keyNode, `a map key is ${describe(key)}; only plain string keys are read`);
        }
        entries.set(key, this.read(pair.value as YamlNode | null, depth + 1));
      }
      if (tag === undefined || tag === `${CORE}map`) return { kind: 'hash', entries };
      if (tag.startsWith(RUBY_OBJECT_TAG) && PERMITTED_CLASSES.includes(tag.slice(RUBY_OBJECT_TAG.length))) {
        return { kind: 'object', rubyClass: tag.slice(RUBY_OBJECT_TAG.length), fields: entries };
      }
      this.#refuseTag(node, tag);
    }
    this.#fail(node, 'unsupported YAML node');
  }

  #scalar(node: Scalar, tag: string | undefined): RubyValue {
    const text = typeof node.value === 'string' ? node.value : String(node.value ?? '');
    const plain = node.type === 'PLAIN';
    if (tag === undefined) {
      if (!plain) return text;
      if (NULLS.has(text)) return null;
      if (TRUES.has(text)) return true;
      if (FALSES.has(text)) return false;
      // Psych: a plain scalar `:name` (also `:"name"`) is a Symbol.
      if (text.length > 1 && text.startsWith(':')) return { kind: 'symbol', name: text.slice(1).replace(/^"(.*)"$|^'(.*)'$/s, '$1$2') };
      return text;
    }
    if (SYMBOL_TAGS.has(tag)) return { kind: 'symbol', name: text };
    if (BINARY_TAGS.has(tag)) return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (tag === `${CORE}str`) return text;
    if (CORE_SCALAR_TAGS.has(tag)) {
      if (tag === `${CORE}null`) return null;
      if (tag === `${CORE}bool`) return TRUES.has(text) ? true : FALSES.has(text) ? false : this.#fail(node, `"${printable(text, 40)}" is not a boolean`);
      return text;
    }
    this.#refuseTag(node, tag);
  }

  #refuseTag(node: YamlNode, tag: string): never {
    const kind = isScalar(node) ? 'a scalar' : isSeq(node) ? 'a sequence' : 'a map';
    const permitted = tag.startsWith(RUBY_OBJECT_TAG) && PERMITTED_CLASSES.includes(tag.slice(RUBY_OBJECT_TAG.length));
    this.#fail(
      node,
      permitted
        ? `the tag ${printable(tag, 80)} must be on a map, not on ${kind}`
        : `the YAML tag ${printable(tag, 80)} is not allowed (RubyGems loads only Gem::Specification, Version, Requirement, Dependency and Platform objects)`,
    );
  }
}

function describe(value: RubyValue | undefined): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return `the string "${printable(value, 60)}"`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return 'an array';
  if (value.kind === 'symbol') return `the symbol :${printable(value.name, 60)}`;
  if (value.kind === 'object') return `a ${value.rubyClass}`;
  return 'a map';
}

// ---------------------------------------------------------------------------------------------
// Gem::Specification

/** Gem::Requirement::OPS. */
export const GEM_OPERATORS = ['=', '!=', '>', '<', '>=', '<=', '~>'] as const;
export type GemOperator = (typeof GEM_OPERATORS)[number];
export type GemRequirement = [op: GemOperator, version: string];

export interface GemDependency {
  name: string;
  type: 'runtime' | 'development';
  /** As written; an empty list means any version (`>= 0`). */
  requirements: GemRequirement[];
}

/** The fields of a gem's Gem::Specification the repository and the gate use. */
export interface GemSpec {
  name: string;
  version: string;
  prerelease: boolean;
  /** `ruby` for pure-Ruby gems, otherwise e.g. `x86_64-linux`, `java`. */
  platform: string;
  summary?: string;
  description?: string;
  authors: string[];
  /** RubyGems accepts a string or a list; always a list here. */
  email: string[];
  homepage?: string;
  licenses: string[];
  /** String keys and values only (RubyGems' own rule); a null-prototype map. */
  metadata: Record<string, string>;
  dependencies: GemDependency[];
  requiredRubyVersion: GemRequirement[];
  requiredRubygemsVersion: GemRequirement[];
  /** External requirements, free text (`spec.requirements`). */
  requirements: string[];
  bindir?: string;
  executables: string[];
  extensions: string[];
  files: string[];
  testFiles: string[];
  requirePaths: string[];
  postInstallMessage?: string;
  /** The build date as written, e.g. `2024-01-01 00:00:00.000000000 Z`. */
  date?: string;
  rubygemsVersion?: string;
  specificationVersion?: string;
  /** PEM certificates of a signed gem. */
  certChain: string[];
}

/** RubyGems names: letters, digits, `.`, `_`, `-`; never starting with `.` or `-`. */
const GEM_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const MAX_NAME_LENGTH = 256;
const PLATFORM = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function isValidGemName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && GEM_NAME.test(name);
}

export interface ParseGemSpecOptions {
  /** Names the document in messages; default `metadata.gz`. */
  source?: string;
  limits?: Partial<RubyYamlLimits>;
}

/** Parses a gem's metadata YAML into a GemSpec, checking name, version, platform and dependencies. */
export function parseGemSpec(text: string, options: ParseGemSpecOptions = {}): GemSpec {
  const source = options.source ?? 'metadata.gz';
  const root = readRubyYaml(text, source, options.limits);
  if (!isObject(root, 'Gem::Specification')) {
    throw new StockadeError('INVALID_ARCHIVE', [`${source} holds ${describe(root)}, not a !ruby/object:Gem::Specification`]);
  }
  const f = new Fields(source, 'Gem::Specification', root.fields);

  const name = f.string('name');
  if (name === undefined) throw f.error('name', 'is missing');
  if (!isValidGemName(name)) {
    throw f.error('name', `"${printable(name, 80)}" is not a valid gem name (letters, digits, ".", "_" and "-", not starting with "." or "-")`);
  }
  const version = readVersion(f, 'version', root.fields.get('version'));
  if (version === undefined) throw f.error('version', 'is missing');

  const spec: GemSpec = {
    name,
    version,
    // Gem::Version#prerelease?: any letter.
    prerelease: /[a-zA-Z]/.test(version),
    platform: readPlatform(f, root.fields.get('platform')),
    authors: f.stringList('authors'),
    email: f.stringOrList('email'),
    licenses: f.stringList('licenses'),
    metadata: readMetadata(f),
    dependencies: readDependencies(f),
    requiredRubyVersion: readRequirement(f, 'required_ruby_version', root.fields.get('required_ruby_version')),
    requiredRubygemsVersion: readRequirement(f, 'required_rubygems_version', root.fields.get('required_rubygems_version')),
    requirements: f.stringList('requirements'),
    executables: f.stringList('executables'),
    extensions: f.stringList('extensions'),
    files: f.stringList('files'),
    testFiles: f.stringList('test_files'),
    requirePaths: f.stringList('require_paths'),
    certChain: f.stringList('cert_chain'),
  };
  const optional: [keyof GemSpec & string, string][] = [
    ['summary', 'summary'],
    ['description', 'description'],
    ['homepage', 'homepage'],
    ['bindir', 'bindir'],
    ['postInstallMessage', 'post_install_message'],
    ['date', 'date'],
    ['rubygemsVersion', 'rubygems_version'],
    ['specificationVersion', 'specification_version'],
  ];
  for (const [key, field] of optional) {
    const value = f.string(field);
    if (value !== undefined) (spec as unknown as Record<string, unknown>)[key] = value;
  }
  return spec;
}

function isObject(value: RubyValue | undefined, ...classes: string[]): value is RubyObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && value.kind === 'object' && classes.includes(value.rubyClass);
}

/** Typed access to an object's fields, with messages that say where. */
class Fields {
  constructor(
    readonly source: string,
    readonly owner: string,
    readonly fields: Map<string, RubyValue>,
  ) {}

  error(field: string, message: string): StockadeError {
    return new StockadeError('INVALID_ARCHIVE', [`${this.source}: ${this.owner} ${field} ${message}`]);
  }

  string(field: string): string | undefined {
    const value = this.fields.get(field);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    throw this.error(field, `must be a string, not ${describe(value)}`);
  }

  stringList(field: string): string[] {
    const value = this.fields.get(field);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.error(field, `must be a list, not ${describe(value)}`);
    return value.map((item, i) => {
      if (typeof item !== 'string') throw this.error(`${field}[${i}]`, `must be a string, not ${describe(item)}`);
      return item;
    });
  }

  stringOrList(field: string): string[] {
    const value = this.fields.get(field);
    if (typeof value === 'string') return [value];
    return this.stringList(field);
  }
}

function readVersion(f: Fields, field: string, value: RubyValue | undefined): string | undefined {
  let text: RubyValue | undefined = value;
  if (isObject(value, 'Gem::Version')) text = value.fields.get('version');
  if (text === undefined || text === null) return undefined;
  if (typeof text !== 'string') throw f.error(field, `must be a version, not ${describe(text)}`);
  // Gem::Version.new strips Ruby whitespace (ASCII only).
  const trimmed = text.replace(/^[ \t\r\n\f\v]+|[ \t\r\n\f\v]+$/g, '');
  if (!rubyGemsScheme.isValid(trimmed)) throw f.error(field, `"${printable(text, 80)}" is not a valid RubyGems version`);
  return trimmed;
}

function readPlatform(f: Fields, value: RubyValue | undefined): string {
  let platform: string;
  if (value === undefined || value === null) {
    platform = 'ruby';
  } else if (typeof value === 'string') {
    platform = value;
  } else if (isObject(value, 'Gem::Platform')) {
    // Gem::Platform#to_s: [cpu, os, version].compact.join('-')
    const p = new Fields(f.source, 'Gem::Platform', value.fields);
    platform = [p.string('cpu'), p.string('os'), p.string('version')].filter((s) => s !== undefined && s !== '').join('-');
  } else {
    throw f.error('platform', `must be a string or a Gem::Platform, not ${describe(value)}`);
  }
  // The platform becomes part of file names (`name-version-platform.gem`) and index lines.
  if (platform === '' || platform.length > 128 || !PLATFORM.test(platform)) {
    throw f.error('platform', `"${printable(platform, 80)}" is not a valid platform`);
  }
  return platform;
}

function readRequirement(f: Fields, field: string, value: RubyValue | undefined): GemRequirement[] {
  if (value === undefined || value === null) return [];
  if (!isObject(value, 'Gem::Requirement', 'Gem::Version::Requirement')) {
    throw f.error(field, `must be a Gem::Requirement, not ${describe(value)}`);
  }
  const list = value.fields.get('requirements');
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw f.error(field, `requirements must be a list, not ${describe(list)}`);
  return list.map((pair, i): GemRequirement => {
    const where = `${field} requirement ${i + 1}`;
    if (!Array.isArray(pair) || pair.length !== 2) throw f.error(where, 'must be an [operator, version] pair');
    const [rawOp, rawVersion] = pair as [RubyValue, RubyValue];
    // Very old specs carry Syck's DefaultKey where the operator was; RubyGems reads it as `=`.
    const op = isObject(rawOp, 'YAML::Syck::DefaultKey', 'Syck::DefaultKey') ? '=' : rawOp;
    if (typeof op !== 'string' || !(GEM_OPERATORS as readonly string[]).includes(op)) {
      throw f.error(where, `has an unknown operator ${typeof op === 'string' ? `"${printable(op, 20)}"` : describe(op)}`);
    }
    const version = readVersion(f, where, rawVersion);
    if (version === undefined) throw f.error(where, 'has no version');
    return [op as GemOperator, version];
  });
}

function readDependencies(f: Fields): GemDependency[] {
  const value = f.fields.get('dependencies');
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw f.error('dependencies', `must be a list, not ${describe(value)}`);
  return value.map((item, i): GemDependency => {
    if (!isObject(item, 'Gem::Dependency')) throw f.error(`dependencies[${i}]`, `must be a Gem::Dependency, not ${describe(item)}`);
    const d = new Fields(f.source, `dependency ${i + 1}`, item.fields);
    const name = d.string('name');
    if (name === undefined) throw d.error('name', 'is missing');
    // Dependency names end up in index lines (`name:req&req`), so they obey the gem name rule.
    if (!isValidGemName(name)) throw d.error('name', `"${printable(name, 80)}" is not a valid gem name`);
    const type = item.fields.get('type');
    let kind: GemDependency['type'] = 'runtime';
    if (type !== undefined && type !== null) {
      const typeName = typeof type === 'string' ? type : !Array.isArray(type) && typeof type === 'object' && type.kind === 'symbol' ? type.name : undefined;
      if (typeName !== 'runtime' && typeName !== 'development') {
        throw d.error('type', `must be :runtime or :development, not ${describe(type)}`);
      }
      kind = typeName;
    }
    // `version_requirements` is the pre-1.3 name of `requirement`; RubyGems falls back to it.
    const requirement = item.fields.get('requirement') ?? item.fields.get('version_requirements');
    return { name, type: kind, requirements: readRequirement(d, 'requirement', requirement) };
  });
}

function readMetadata(f: Fields): Record<string, string> {
  const metadata = Object.create(null) as Record<string, string>;
  const value = f.fields.get('metadata');
  if (value === undefined || value === null) return metadata;
  if (Array.isArray(value) || typeof value !== 'object' || value.kind !== 'hash') {
    throw f.error('metadata', `must be a map, not ${describe(value)}`);
  }
  for (const [key, item] of value.entries) {
    if (typeof item !== 'string') throw f.error(`metadata "${printable(key, 60)}"`, `must be a string, not ${describe(item)}`);
    metadata[key] = item;
  }
  return metadata;
}
