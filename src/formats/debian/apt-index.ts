/**
 * The text of an APT repository's indexes: `Packages` stanzas and `Release` files. Pure
 * functions over parsed control data and digests; storing, signing and serving them is the
 * format's job.
 */
import { type ControlField, type ControlFields, serializeControl } from './control.js';

export interface PoolFile {
  /** `pool/main/h/hello/hello_1.0-1_amd64.deb` */
  poolPath: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

/** The file name Debian gives a binary package: epoch dropped, as dpkg-name does. */
export function debFilename(name: string, version: string, arch: string): string {
  const colon = version.indexOf(':');
  return `${name}_${colon === -1 ? version : version.slice(colon + 1)}_${arch}.deb`;
}

/** The source package a binary belongs to: `Source:` without a version in parentheses, else the package. */
export function sourceOf(control: ControlFields): string {
  const source = control.get('Source')?.trim();
  if (!source) return control.get('Package') as string;
  return source.split(/\s+/)[0] as string;
}

/** `pool/<component>/<prefix>/<source>/<file>`; library sources get four-character prefixes (`libc`). */
export function poolPath(component: string, source: string, filename: string): string {
  const prefix = source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source.slice(0, 1);
  return `pool/${component}/${prefix}/${source}/${filename}`;
}

/**
 * One `Packages` stanza: the package's own control fields, then the fields of the file in the
 * pool, with `Description` last as dpkg-scanpackages writes it. Ends with one newline; stanzas are
 * joined by an empty line.
 */
export function packagesStanza(control: ControlFields, file: PoolFile): string {
  const fields: ControlField[] = [];
  let description: ControlField | undefined;
  for (const field of control) {
    const lower = field.name.toLowerCase();
    // Index fields describe the file in the pool; the package cannot set them.
    if (['filename', 'size', 'md5sum', 'sha1', 'sha256', 'sha512', 'msdos-filename'].includes(lower)) continue;
    if (lower === 'description') description = field;
    else fields.push(field);
  }
  fields.push(
    { name: 'Filename', value: file.poolPath },
    { name: 'Size', value: String(file.size) },
    { name: 'MD5sum', value: file.md5 },
    { name: 'SHA1', value: file.sha1 },
    { name: 'SHA256', value: file.sha256 },
  );
  if (description) fields.push(description);
  return serializeControl(fields);
}

export interface IndexFile {
  /** Relative to `dists/<dist>/`, e.g. `main/binary-amd64/Packages.gz`. */
  path: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

export interface ReleaseInput {
  origin: string;
  label: string;
  suite: string;
  codename: string;
  date: Date;
  architectures: readonly string[];
  components: readonly string[];
  description?: string;
  files: readonly IndexFile[];
}

/** RFC 2822 in UTC, as apt expects in `Date:` (`Thu, 26 Nov 2026 10:00:00 UTC`). */
export function releaseDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, 'UTC');
}

/**
 * A `Release` file. `Acquire-By-Hash: yes` tells apt to fetch indexes by their SHA256, so a
 * client never pairs a new Release with an old Packages file while the repository changes.
 */
export function releaseText(input: ReleaseInput): string {
  const sorted = [...input.files].sort((a, b) => a.path.localeCompare(b.path));
  // One line per file; an empty block must add no line, since an empty line would end the stanza.
  const block = (pick: (file: IndexFile) => string) => sorted.map((file) => ` ${pick(file)} ${String(file.size).padStart(8)} ${file.path}`);
  const lines = [
    `Origin: ${input.origin}`,
    `Label: ${input.label}`,
    `Suite: ${input.suite}`,
    `Codename: ${input.codename}`,
    `Date: ${releaseDate(input.date)}`,
    `Architectures: ${[...input.architectures].sort().join(' ')}`,
    `Components: ${[...input.components].sort().join(' ')}`,
    ...(input.description ? [`Description: ${input.description}`] : []),
    'Acquire-By-Hash: yes',
    'MD5Sum:',
    ...block((f) => f.md5),
    'SHA1:',
    ...block((f) => f.sha1),
    'SHA256:',
    ...block((f) => f.sha256),
  ];
  return `${lines.join('\n')}\n`;
}
