import { StockadeError } from '../../errors.js';
import { printable } from '../npm/names.js';

/**
 * deb822 control paragraphs: the `DEBIAN/control` of a binary package, and later the stanzas
 * of Packages files. Values are kept as dpkg prints them (`dpkg-deb --field`): the text after
 * the colon with surrounding blanks trimmed, then each continuation line verbatim (its leading
 * space or tab included), joined by `\n`.
 */

export interface ControlField {
  /** As written in the file. */
  readonly name: string;
  readonly value: string;
}

export interface ControlLimits {
  /** Largest paragraph text accepted. */
  maxBytes: number;
  /** Most fields in one paragraph. */
  maxFields: number;
  /** Largest single field value. */
  maxValueBytes: number;
}

const KiB = 1024;

export const DEFAULT_CONTROL_LIMITS: Readonly<ControlLimits> = Object.freeze({
  // Real control files stay well under 64 KiB; the biggest are long Provides/Depends lists.
  maxBytes: 1024 * KiB,
  maxFields: 256,
  maxValueBytes: 512 * KiB,
});

/** An ordered set of fields with case-insensitive lookup, as dpkg treats field names. */
export class ControlFields implements Iterable<ControlField> {
  readonly #fields: ControlField[] = [];
  readonly #byKey = new Map<string, number>();

  constructor(fields: Iterable<ControlField> = []) {
    for (const field of fields) this.set(field.name, field.value);
  }

  get size(): number {
    return this.#fields.length;
  }

  /** Fields in their original order and spelling. */
  get fields(): readonly ControlField[] {
    return this.#fields;
  }

  get(name: string): string | undefined {
    const index = this.#byKey.get(name.toLowerCase());
    return index === undefined ? undefined : this.#fields[index]?.value;
  }

  has(name: string): boolean {
    return this.#byKey.has(name.toLowerCase());
  }

  /** The spelling the file used for a field, e.g. `package` for a lookup of `Package`. */
  originalName(name: string): string | undefined {
    const index = this.#byKey.get(name.toLowerCase());
    return index === undefined ? undefined : this.#fields[index]?.name;
  }

  /** Replaces a field in place (keeping its position and spelling) or appends it. */
  set(name: string, value: string): void {
    assertFieldName(name);
    const key = name.toLowerCase();
    const index = this.#byKey.get(key);
    if (index === undefined) {
      this.#byKey.set(key, this.#fields.length);
      this.#fields.push(Object.freeze({ name, value }));
    } else {
      const existing = this.#fields[index] as ControlField;
      this.#fields[index] = Object.freeze({ name: existing.name, value });
    }
  }

  /** Plain object in field order, original spelling; handy for JSON manifests. */
  toObject(): Record<string, string> {
    const object: Record<string, string> = {};
    for (const field of this.#fields) object[field.name] = field.value;
    return object;
  }

  [Symbol.iterator](): Iterator<ControlField> {
    return this.#fields[Symbol.iterator]();
  }
}

export interface ParseControlOptions {
  /** Names the text in error messages, e.g. `control file`. */
  source?: string;
  limits?: Partial<ControlLimits>;
}

// deb822: US-ASCII printable, no colon, and not starting with `#` (comment) or `-` (PGP armor).
const FIELD_NAME = /^[!-9;-~]+$/;

function isValidFieldName(name: string): boolean {
  return FIELD_NAME.test(name) && !name.startsWith('#') && !name.startsWith('-');
}

function assertFieldName(name: string): void {
  if (!isValidFieldName(name)) {
    throw new StockadeError('BAD_REQUEST', [`"${printable(name, 60)}" is not a valid control field name`]);
  }
}

/**
 * Parses exactly one paragraph. Blank lines before and after it are allowed, a second paragraph
 * is not. Errors are INVALID_ARCHIVE naming the line and the field.
 */
export function parseControl(text: string, options: ParseControlOptions = {}): ControlFields {
  const source = options.source ?? 'control file';
  const limits = { ...DEFAULT_CONTROL_LIMITS, ...options.limits };
  const problem = (line: number | undefined, detail: string): StockadeError =>
    new StockadeError('INVALID_ARCHIVE', [`${source}${line === undefined ? '' : ` line ${line}`}: ${detail}`]);

  if (Buffer.byteLength(text) > limits.maxBytes) {
    throw problem(undefined, `larger than ${limits.maxBytes} bytes`);
  }
  if (text.includes('\0')) throw problem(undefined, 'contains a NUL byte');

  const lines = text.split('\n');
  // A final newline leaves one empty string behind; it is not a blank line.
  if (lines.at(-1) === '') lines.pop();

  const fields = new ControlFields();
  let current: { name: string; first: string; rest: string[]; line: number } | undefined;
  let paragraphEnded = false;

  const finish = (): void => {
    if (current === undefined) return;
    const value = [current.first, ...current.rest].join('\n');
    if (Buffer.byteLength(value) > limits.maxValueBytes) {
      throw problem(current.line, `the value of field "${printable(current.name, 60)}" is larger than ${limits.maxValueBytes} bytes`);
    }
    if (fields.has(current.name)) {
      throw problem(
        current.line,
        `duplicate field "${printable(current.name, 60)}" (already given as "${printable(fields.originalName(current.name), 60)}")`,
      );
    }
    if (fields.size >= limits.maxFields) throw problem(current.line, `more than ${limits.maxFields} fields`);
    fields.set(current.name, value);
    current = undefined;
  };

  lines.forEach((rawLine, index) => {
    const lineNumber = index + 1;
    // dpkg accepts CRLF files written on other systems; the CR is not part of the value.
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') {
      if (current !== undefined || fields.size > 0) {
        if (line !== '' && current !== undefined) {
          // A whitespace-only line inside a value is ambiguous; deb822 spells an empty line " .".
          throw problem(lineNumber, `blank continuation line in field "${printable(current.name, 60)}" (write " ." for an empty line)`);
        }
        finish();
        paragraphEnded = true;
      }
      return;
    }
    if (paragraphEnded) throw problem(lineNumber, 'more than one paragraph (only one is allowed here)');
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current === undefined) throw problem(lineNumber, 'continuation line before any field');
      current.rest.push(line.replace(/[ \t]+$/, ''));
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw problem(lineNumber, `expected "Field: value", got "${printable(line, 60)}"`);
    const name = line.slice(0, colon);
    if (!isValidFieldName(name)) throw problem(lineNumber, `invalid field name "${printable(name, 60)}"`);
    finish();
    current = { name, first: line.slice(colon + 1).trim(), rest: [], line: lineNumber };
  });
  finish();
  if (fields.size === 0) throw problem(undefined, 'is empty');
  return fields;
}

/**
 * Writes one stanza, fields in order, multi-line values with their continuation lines. Lines of
 * a value that lack the leading blank get one, and empty ones become ` .`, so a value can never
 * end the stanza early or inject a field.
 */
export function serializeControl(fields: Iterable<ControlField>): string {
  let out = '';
  const seen = new Set<string>();
  for (const { name, value } of fields) {
    assertFieldName(name);
    const key = name.toLowerCase();
    if (seen.has(key)) throw new StockadeError('BAD_REQUEST', [`control field "${printable(name, 60)}" given twice`]);
    seen.add(key);
    const [first = '', ...rest] = value.replace(/\r\n?/g, '\n').split('\n');
    out += first.trim() === '' ? `${name}:` : `${name}: ${first.trim()}`;
    for (const line of rest) {
      const trimmed = line.replace(/[ \t]+$/, '');
      if (trimmed === '') out += '\n .';
      else if (trimmed.startsWith(' ') || trimmed.startsWith('\t')) out += `\n${trimmed}`;
      else out += `\n ${trimmed}`;
    }
    out += '\n';
  }
  return out;
}

/**
 * The text of a multi-line value as a reader sees it: first line, then each continuation line
 * without its leading blank, ` .` turned into an empty line (Description, Changes, …).
 */
export function unfoldValue(value: string): { firstLine: string; body: string } {
  const [firstLine = '', ...rest] = value.split('\n');
  const body = rest.map((line) => {
    const stripped = line.replace(/^[ \t]/, '');
    return stripped === '.' ? '' : stripped;
  });
  return { firstLine, body: body.join('\n') };
}

export const REQUIRED_BINARY_FIELDS = ['Package', 'Version', 'Architecture', 'Maintainer', 'Description'] as const;

// Debian Policy 5.6.1: at least two characters, lowercase alphanumerics and + - .
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
// dpkg architecture names: a lowercase token (amd64, arm64, x32, hurd-i386, musl-linux-arm64).
const ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;
const MAX_NAME_LENGTH = 255;

/** Why a string is not a valid Debian package name, or undefined when it is. */
export function packageNameProblem(name: string): string | undefined {
  if (name.length < 2) return 'must be at least two characters long';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters long`;
  if (/[A-Z]/.test(name)) return 'must be lowercase';
  if (!PACKAGE_NAME.test(name)) return 'may only contain a-z, 0-9, "+", "-" and "." and must start with a letter or digit';
  return undefined;
}

/** Why a string is not a valid Debian version (`[epoch:]upstream[-revision]`), or undefined. */
export function versionProblem(version: string): string | undefined {
  if (version === '') return 'is empty';
  if (version.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`;
  if (/\s/.test(version)) return 'contains whitespace';
  let rest = version;
  const colon = rest.indexOf(':');
  if (colon !== -1) {
    const epoch = rest.slice(0, colon);
    if (!/^[0-9]+$/.test(epoch)) return `epoch "${printable(epoch, 40)}" is not a number`;
    if (Number(epoch) > 2147483647) return 'epoch is too large';
    rest = rest.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const revision = hyphen === -1 ? undefined : rest.slice(hyphen + 1);
  if (upstream === '') return 'upstream version is empty';
  if (!/^[0-9]/.test(upstream)) return 'upstream version must start with a digit';
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream)) return 'upstream version may only contain A-Z a-z 0-9 . + ~ - :';
  if (revision !== undefined) {
    if (revision === '') return 'revision after "-" is empty';
    if (!/^[A-Za-z0-9.+~]+$/.test(revision)) return 'revision may only contain A-Z a-z 0-9 . + ~';
  }
  return undefined;
}

/** Why a string is not a single concrete architecture for a binary package, or undefined. */
export function architectureProblem(arch: string): string | undefined {
  if (arch === 'any' || arch.includes('any')) return 'a binary package needs a concrete architecture (or "all"), not a wildcard';
  if (/\s/.test(arch)) return 'a binary package has exactly one architecture';
  if (arch.length > 64 || !ARCHITECTURE.test(arch)) return 'is not an architecture name (lowercase letters, digits and "-")';
  return undefined;
}

/**
 * Checks the fields every binary package needs (Debian Policy 5.3) and their syntax.
 * Missing or empty fields are INVALID_ARCHIVE; a bad name INVALID_NAME, a bad version INVALID_VERSION.
 */
export function validateBinaryControl(fields: ControlFields, source = 'control file'): void {
  for (const name of REQUIRED_BINARY_FIELDS) {
    const value = fields.get(name);
    if (value === undefined) {
      throw new StockadeError('INVALID_ARCHIVE', [`${source} has no "${name}" field, which every binary package needs`]);
    }
    if (value.trim() === '') {
      throw new StockadeError('INVALID_ARCHIVE', [`${source}: field "${name}" is empty`]);
    }
  }
  const name = fields.get('Package') as string;
  if (name.includes('\n')) throw new StockadeError('INVALID_NAME', [printable(name, 80), 'must be a single line']);
  const nameIssue = packageNameProblem(name);
  if (nameIssue !== undefined) throw new StockadeError('INVALID_NAME', [printable(name, 80), nameIssue]);

  const version = fields.get('Version') as string;
  const versionIssue = versionProblem(version);
  if (versionIssue !== undefined) throw new StockadeError('INVALID_VERSION', [printable(version, 80), versionIssue]);

  const arch = fields.get('Architecture') as string;
  const archIssue = architectureProblem(arch);
  if (archIssue !== undefined) {
    throw new StockadeError('INVALID_ARCHIVE', [`${source}: field "Architecture" value "${printable(arch, 60)}" ${archIssue}`]);
  }
  const description = fields.get('Description') as string;
  if ((description.split('\n')[0] ?? '').trim() === '') {
    throw new StockadeError('INVALID_ARCHIVE', [`${source}: field "Description" has no synopsis on its first line`]);
  }
}
